package objfmt

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
)

// sizedReader hands out data in reads of at most step bytes and records
// the size of every buffer it was given; fail ends it with that error
// instead of io.EOF.
type sizedReader struct {
	data []byte
	step int
	fail error
	bufs []int
}

func (r *sizedReader) Read(p []byte) (int, error) {
	r.bufs = append(r.bufs, len(p))
	if len(r.data) == 0 {
		if r.fail != nil {
			return 0, r.fail
		}
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.step)], r.data)
	r.data = r.data[n:]
	return n, nil
}

// TestAsyncWriterReadFrom: ReadFrom reads into the chunks themselves (its
// reader sees a whole free chunk, then what is left of it), the data
// arrives intact, a reader's error is returned, and a sink's failure stops
// the reading.
func TestAsyncWriterReadFrom(t *testing.T) {
	data := testData(asyncChunk*asyncChunks*2 + 777)
	var got bytes.Buffer
	a := newAsyncWriter(&got)
	r := &sizedReader{data: data, step: 300 << 10}
	if n, err := a.ReadFrom(r); n != int64(len(data)) || err != nil {
		t.Fatalf("ReadFrom = %d, %v; want %d, nil", n, err, len(data))
	}
	if err := a.Close(); err != nil || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("close %v; %d bytes arrived of %d, equal %v", err, got.Len(), len(data), bytes.Equal(got.Bytes(), data))
	}
	if r.bufs[0] != asyncChunk || r.bufs[1] != asyncChunk-300<<10 {
		t.Fatalf("reads into buffers of %v; want %d, then the rest of that chunk", r.bufs[:2], asyncChunk)
	}

	broken := errors.New("pipe broke")
	a = newAsyncWriter(io.Discard)
	if _, err := a.ReadFrom(&sizedReader{data: data[:1000], step: 100, fail: broken}); !errors.Is(err, broken) {
		t.Fatalf("ReadFrom = %v, want %v", err, broken)
	}
	_ = a.Close()

	boom := errors.New("sink broke")
	a = newAsyncWriter(&failAfter{n: asyncChunk, err: boom})
	if _, err := a.ReadFrom(&sizedReader{data: data, step: 64 << 10}); !errors.Is(err, boom) {
		t.Fatalf("ReadFrom after the sink failed = %v, want %v", err, boom)
	}
	if err := a.Close(); !errors.Is(err, boom) {
		t.Fatalf("close = %v, want %v", err, boom)
	}
}

// TestUploadReadFrom: the dump read into the pipeline (io.Copy into
// Upload.Writer uses ReadFrom) is stored byte-true and counted.
func TestUploadReadFrom(t *testing.T) {
	data := testData(3<<20 + 12345)
	st := &pipeStore{limit: -1}
	u, err := StartUpload(context.Background(), st, "k", "zstd", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := u.Writer().(io.ReaderFrom); !ok {
		t.Fatal("Upload.Writer is not an io.ReaderFrom")
	}
	if n, err := io.Copy(u.Writer(), &sizedReader{data: data, step: 100 << 10}); n != int64(len(data)) || err != nil {
		t.Fatalf("copy = %d, %v", n, err)
	}
	res, err := u.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if u.RawBytes() != int64(len(data)) || res.N != int64(st.got.Len()) {
		t.Fatalf("counts: raw %d of %d, stored %d of %d", u.RawBytes(), len(data), res.N, st.got.Len())
	}
	if !bytes.Equal(decompress(t, st.got.Bytes(), "zstd"), data) || u.Checksum() != sha(st.got.Bytes()) {
		t.Fatal("data or checksum changed in the pipeline")
	}
}
