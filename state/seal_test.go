package state

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

const marker = "S3CR3T-MARKER-7f1e"

// secretRecords returns one record of each kind that holds secrets, every
// secret containing marker.
func secretRecords() (Connection, Provider, Notification) {
	c := conn("conn_1", "main", marker+"-pw")
	p := Provider{Meta: Meta{ID: "prov_1", CreatedAt: t0}, ProviderSpec: ProviderSpec{
		Name: "s3", ProviderType: "s3", AccessKey: "AKIA", SecretKey: Secret(marker + "-sk"),
	}}
	n := Notification{Meta: Meta{ID: "notif_1", CreatedAt: t0}, NotificationSpec: NotificationSpec{
		Name: "tg", NotifType: "telegram", ConfigJSON: Secret(`{"token":"` + marker + `"}`),
	}}
	return c, p, n
}

func putSecretRecords(tb testing.TB, s *Store) (Connection, Provider, Notification) {
	tb.Helper()
	c, p, n := secretRecords()
	mustUpdate(tb, s, func(tx *Tx) error {
		return errors.Join(Put(tx, c), Put(tx, p), Put(tx, n))
	})
	return c, p, n
}

// rawValues returns every key and raw value in Badger.
func rawValues(tb testing.TB, s *Store) map[string][]byte {
	tb.Helper()
	out := map[string][]byte{}
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			out[string(it.Item().KeyCopy(nil))] = v
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func TestSealRoundTripAndRawBytes(t *testing.T) {
	dir := t.TempDir()
	s := openDir(t, dir, testKey(1))
	c, p, n := putSecretRecords(t, s)

	mustView(t, s, func(tx *Tx) error {
		gc, err := Get[Connection](tx, c.ID)
		if err != nil || gc != c {
			t.Errorf("connection = %+v, %v; want %+v", gc, err, c)
		}
		gp, err := Get[Provider](tx, p.ID)
		if err != nil || gp != p {
			t.Errorf("provider = %+v, %v; want %+v", gp, err, p)
		}
		gn, err := Get[Notification](tx, n.ID)
		if err != nil || !reflect.DeepEqual(gn, n) {
			t.Errorf("notification = %+v, %v; want %+v", gn, err, n)
		}
		return nil
	})

	raw := rawValues(t, s)
	if len(raw) < 3 {
		t.Fatalf("only %d raw keys", len(raw))
	}
	for k, v := range raw {
		if bytes.Contains(v, []byte(marker)) {
			t.Errorf("raw value of %s contains the secret", k)
		}
	}
	if !bytes.Contains(raw["connection/conn_1"], []byte(`"password":"enc1:`)) {
		t.Errorf("password not stored sealed: %s", raw["connection/conn_1"])
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Nor anywhere in Badger's files (WAL, value log, tables).
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, []byte(marker)) {
			t.Errorf("file %s contains the secret", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSealBindsRecordKey(t *testing.T) {
	s := openMem(t)
	c, _, _ := putSecretRecords(t, s)
	// Copy the sealed bytes of conn_1 under another ID: the AAD no longer matches.
	raw := rawValues(t, s)["connection/"+c.ID]
	moved := bytes.Replace(raw, []byte(`"id":"conn_1"`), []byte(`"id":"conn_2"`), 1)
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set([]byte("connection/conn_2"), moved) }); err != nil {
		t.Fatal(err)
	}
	err := s.View(func(tx *Tx) error { _, err := Get[Connection](tx, "conn_2"); return err })
	if !errors.Is(err, ErrUnseal) {
		t.Fatalf("moved secret: err = %v, want ErrUnseal", err)
	}
}

func TestWrongMasterKey(t *testing.T) {
	dir := t.TempDir()
	s := openDir(t, dir, testKey(1))
	putSecretRecords(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	_, err := Open(Options{Dir: dir, MasterKey: testKey(2)})
	if !errors.Is(err, ErrUnseal) || !strings.Contains(err.Error(), "master key") {
		t.Fatalf("open with wrong key: err = %v, want ErrUnseal naming the master key", err)
	}

	// Reading a record with the wrong key (past the open check) is an error
	// too, never garbage, and the error holds no secret.
	s = openDir(t, dir, testKey(1))
	defer s.Close()
	wrong, err := newSealer(testKey(2))
	if err != nil {
		t.Fatal(err)
	}
	s.seal = wrong
	err = s.View(func(tx *Tx) error { _, err := Get[Connection](tx, "conn_1"); return err })
	if !errors.Is(err, ErrUnseal) {
		t.Fatalf("get with wrong key: err = %v, want ErrUnseal", err)
	}
	if strings.Contains(err.Error(), marker) || !strings.Contains(err.Error(), "Password") {
		t.Errorf("error %q should name the field and not hold the secret", err)
	}
	err = s.View(func(tx *Tx) error { _, err := List[Provider](tx); return err })
	if !errors.Is(err, ErrUnseal) {
		t.Fatalf("list with wrong key: err = %v, want ErrUnseal", err)
	}
}

func TestOpenRejectsBadKeySize(t *testing.T) {
	_, err := Open(Options{InMemory: true, MasterKey: []byte("short")})
	if err == nil {
		t.Fatal("open with a 5-byte key succeeded")
	}
}

type walkInner struct{ S Secret }

type walkOuter struct {
	walkInner
	Ptr    *walkInner
	List   []walkInner
	Map    map[string]Secret
	Arr    [2]Secret
	Plain  string
	hidden Secret
}

func TestSealFieldsDoesNotTouchCaller(t *testing.T) {
	sl, err := newSealer(testKey(3))
	if err != nil {
		t.Fatal(err)
	}
	orig := walkOuter{
		walkInner: walkInner{S: "a"}, Ptr: &walkInner{S: "b"},
		List: []walkInner{{S: "c"}, {S: ""}}, Map: map[string]Secret{"k": "d"},
		Arr: [2]Secret{"e", "f"}, Plain: "plain", hidden: "h",
	}
	snapshot := orig
	snapshot.Ptr = &walkInner{S: "b"}
	snapshot.List = []walkInner{{S: "c"}, {S: ""}}
	snapshot.Map = map[string]Secret{"k": "d"}

	sealedAny, err := sl.sealFields("k/1", orig)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(orig, snapshot) {
		t.Fatalf("caller's value changed: %#v", orig)
	}
	sealed := sealedAny.(walkOuter)
	for name, v := range map[string]Secret{
		"embedded": sealed.S, "ptr": sealed.Ptr.S, "list": sealed.List[0].S,
		"map": sealed.Map["k"], "arr0": sealed.Arr[0], "arr1": sealed.Arr[1],
	} {
		if !strings.HasPrefix(string(v), sealedPrefix) {
			t.Errorf("%s not sealed: %q", name, v)
		}
	}
	if sealed.List[1].S != "" || sealed.Plain != "plain" {
		t.Errorf("empty secret or plain field changed: %#v", sealed)
	}
	if err := sl.unsealFields("k/1", &sealed); err != nil {
		t.Fatal(err)
	}
	sealed.hidden = "h" // unexported fields are not stored, hence not walked
	if !reflect.DeepEqual(sealed, snapshot) {
		t.Fatalf("round trip = %#v, want %#v", sealed, snapshot)
	}
}

func TestUnsealRejects(t *testing.T) {
	sl, err := newSealer(testKey(3))
	if err != nil {
		t.Fatal(err)
	}
	good, err := sl.seal("aad", "value")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, aad, in string
	}{
		{"plain text", "aad", "value"},
		{"bad base64", "aad", sealedPrefix + "!!!"},
		{"too short", "aad", sealedPrefix + "AAAA"},
		{"other aad", "aad2", good},
		{"flipped byte", "aad", flipChar(good, len(good)-3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := sl.unseal(tt.aad, tt.in); !errors.Is(err, ErrUnseal) {
				t.Fatalf("err = %v, want ErrUnseal", err)
			}
		})
	}
	if got, err := sl.unseal("aad", good); err != nil || got != "value" {
		t.Fatalf("unseal = %q, %v", got, err)
	}
	again, _ := sl.seal("aad", "value")
	if again == good {
		t.Error("two seals of one value are identical: nonce reused")
	}
}

// flipChar replaces the base64 character at i with a different one.
func flipChar(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}
