package state

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestCountBackupsMatchesBruteForce: the total behind every query the list
// test uses is the number of backups a brute-force filter selects, before
// and after deletes (the unfiltered count comes from the aggregate).
func TestCountBackupsMatchesBruteForce(t *testing.T) {
	s := openMem(t)
	r := rand.New(rand.NewPCG(3, 4))
	const n = 120
	mustUpdate(t, s, func(tx *Tx) error {
		for i := range n {
			if err := Put(tx, randomBackup(r, fmt.Sprintf("bck_%03d", i))); err != nil {
				return err
			}
		}
		return nil
	})
	check := func(phase string) {
		mustView(t, s, func(tx *Tx) error {
			all, err := List[Backup](tx)
			if err != nil {
				return err
			}
			for _, q := range append(backupQueries(), BackupQuery{ConnectionID: "a/b"}) {
				got, err := tx.CountBackups(q)
				if err != nil {
					return err
				}
				q.Limit, q.Offset = 0, 0
				if want := int64(len(bruteForce(all, q))); got != want {
					t.Errorf("%s: CountBackups(%+v) = %d, want %d", phase, q, got, want)
				}
			}
			return nil
		})
	}
	check("created")
	mustUpdate(t, s, func(tx *Tx) error {
		for i := 0; i < n; i += 4 {
			if err := Delete[Backup](tx, fmt.Sprintf("bck_%03d", i)); err != nil {
				return err
			}
		}
		return nil
	})
	check("after deletes")
}
