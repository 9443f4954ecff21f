package retention

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // scenarios name zones; do not depend on the host's tzdata
)

var update = flag.Bool("update", false, "rewrite the want section of testdata/golden/*.json")

// scenario is one golden file. Everything but Want is written by hand;
// -update rewrites Want only. ExpectDelete and ExpectReasons are hand-checked
// expectations that -update never touches, so a regression cannot be blessed
// by accident.
type scenario struct {
	Description   string              `json:"description"`
	ScheduleID    string              `json:"schedule_id"`
	Now           time.Time           `json:"now"`
	Policy        goldenPolicy        `json:"policy"`
	Series        []series            `json:"series,omitempty"`
	Backups       []goldenBackup      `json:"backups,omitempty"`
	ExpectDelete  []string            `json:"expect_delete"`
	ExpectReasons map[string][]string `json:"expect_reasons,omitempty"`
	Want          *Result             `json:"want,omitempty"`
}

type goldenPolicy struct {
	RetentionFull int    `json:"retention_full,omitempty"`
	RetentionIncr int    `json:"retention_incr,omitempty"`
	KeepDaily     int    `json:"keep_daily,omitempty"`
	KeepWeekly    int    `json:"keep_weekly,omitempty"`
	KeepMonthly   int    `json:"keep_monthly,omitempty"`
	KeepYearly    int    `json:"keep_yearly,omitempty"`
	KeepWithin    string `json:"keep_within,omitempty"` // Go duration
	Location      string `json:"location,omitempty"`    // IANA zone
}

// goldenBackup defaults: schedule_id = the scenario's, type full, status success.
type goldenBackup struct {
	ID         string    `json:"id"`
	ScheduleID *string   `json:"schedule_id,omitempty"`
	Type       string    `json:"type,omitempty"`
	Status     string    `json:"status,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	ParentID   string    `json:"parent_id,omitempty"`
}

// series expands to Count backups <Prefix>01, <Prefix>02, ... (oldest
// first), Every apart from Start, with the same defaults as goldenBackup.
type series struct {
	Prefix     string    `json:"prefix"`
	Start      time.Time `json:"start"`
	Every      string    `json:"every"`
	Count      int       `json:"count"`
	ScheduleID *string   `json:"schedule_id,omitempty"`
	Type       string    `json:"type,omitempty"`
	Status     string    `json:"status,omitempty"`
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 30 {
		t.Fatalf("found %d golden scenarios, want at least 30", len(files))
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) { runGolden(t, file) })
	}
}

func runGolden(t *testing.T, file string) {
	t.Helper()
	sc := readScenario(t, file)
	backups := sc.backups(t)
	got := Apply(sc.ScheduleID, backups, sc.Policy.policy(t), sc.Now)

	checkExpectations(t, sc, got)
	checkInvariants(t, sc.ScheduleID, backups, got)

	if *update {
		sc.Want = &got
		writeScenario(t, file, sc)
		return
	}
	if sc.Want == nil {
		t.Fatalf("%s has no want section; run go test -update", file)
	}
	if diff := diffResults(*sc.Want, got); diff != "" {
		t.Errorf("result differs from %s (rerun with -update after checking):\n%s", file, diff)
	}
}

// checkExpectations compares the hand-written expectations with got.
func checkExpectations(t *testing.T, sc scenario, got Result) {
	t.Helper()
	if sc.ExpectDelete == nil {
		t.Fatal("scenario has no expect_delete (use [] for none)")
	}
	gotDel := ids(got.Delete)
	wantDel := slices.Clone(sc.ExpectDelete)
	slices.Sort(gotDel)
	slices.Sort(wantDel)
	if !slices.Equal(gotDel, wantDel) {
		t.Errorf("deleted %v, want %v", gotDel, wantDel)
	}
	all := map[string][]string{}
	for _, d := range append(slices.Clone(got.Keep), got.Delete...) {
		all[d.ID] = d.Reasons
	}
	for id, want := range sc.ExpectReasons {
		reasons, ok := all[id]
		if !ok {
			t.Errorf("expect_reasons names %s, which has no decision", id)
			continue
		}
		for _, w := range want {
			if !slices.Contains(reasons, w) {
				t.Errorf("%s: reasons %q lack %q", id, reasons, w)
			}
		}
	}
}

func ids(ds []Decision) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

func diffResults(want, got Result) string {
	var b strings.Builder
	for _, part := range []struct {
		name      string
		want, got []Decision
	}{{"keep", want.Keep, got.Keep}, {"delete", want.Delete, got.Delete}} {
		n := max(len(part.want), len(part.got))
		for i := range n {
			var w, g string
			if i < len(part.want) {
				w = fmt.Sprintf("%s %q", part.want[i].ID, part.want[i].Reasons)
			}
			if i < len(part.got) {
				g = fmt.Sprintf("%s %q", part.got[i].ID, part.got[i].Reasons)
			}
			if w != g {
				fmt.Fprintf(&b, "%s[%d]: want %s, got %s\n", part.name, i, w, g)
			}
		}
	}
	return b.String()
}

func readScenario(tb testing.TB, file string) scenario {
	tb.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var sc scenario
	if err := dec.Decode(&sc); err != nil {
		tb.Fatalf("decode %s: %v", file, err)
	}
	return sc
}

func writeScenario(tb testing.TB, file string, sc scenario) {
	tb.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep "8 > 7" readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(sc); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
}

func (gp goldenPolicy) policy(tb testing.TB) Policy {
	tb.Helper()
	p := Policy{
		RetentionFull: gp.RetentionFull, RetentionIncr: gp.RetentionIncr,
		KeepDaily: gp.KeepDaily, KeepWeekly: gp.KeepWeekly,
		KeepMonthly: gp.KeepMonthly, KeepYearly: gp.KeepYearly,
	}
	if gp.KeepWithin != "" {
		d, err := time.ParseDuration(gp.KeepWithin)
		if err != nil {
			tb.Fatalf("keep_within: %v", err)
		}
		p.KeepWithin = d
	}
	if gp.Location != "" {
		loc, err := time.LoadLocation(gp.Location)
		if err != nil {
			tb.Fatalf("location: %v", err)
		}
		p.Location = loc
	}
	return p
}

func (sc scenario) backups(tb testing.TB) []Backup {
	tb.Helper()
	var out []Backup
	for _, s := range sc.Series {
		every, err := time.ParseDuration(s.Every)
		if err != nil {
			tb.Fatalf("series %s: every: %v", s.Prefix, err)
		}
		width := max(2, len(fmt.Sprint(s.Count)))
		for i := range s.Count {
			out = append(out, sc.backup(fmt.Sprintf("%s%0*d", s.Prefix, width, i+1),
				s.ScheduleID, s.Type, s.Status, s.Start.Add(time.Duration(i)*every), ""))
		}
	}
	for _, b := range sc.Backups {
		out = append(out, sc.backup(b.ID, b.ScheduleID, b.Type, b.Status, b.CreatedAt, b.ParentID))
	}
	return out
}

func (sc scenario) backup(id string, sched *string, typ, status string, at time.Time, parent string) Backup {
	b := Backup{ID: id, ScheduleID: sc.ScheduleID, Type: TypeFull, Status: StatusSuccess,
		CreatedAt: at, ParentID: parent}
	if sched != nil {
		b.ScheduleID = *sched
	}
	if typ != "" {
		b.Type = typ
	}
	if status != "" {
		b.Status = status
	}
	return b
}
