package api

import (
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/jagad/jagad/state"
)

// verifyArchive is POST /api/connections/{id}/archive/verify: it checks
// the connection's WAL archive (postgresql, wal_archive) or binary log
// archive (mysql/mariadb, binlog_archive) now and answers with the report
// (engine.ArchiveReport): ok, the archived files, the gaps (missing file
// names with later ones archived) and every problem, each naming its file.
// Every archived file is read through its checks, so the answer takes as
// long as reading the archive. 400 when the connection archives nothing.
func (s *server) verifyArchive(r *http.Request, p httprouter.Params) (any, error) {
	err := s.store.View(func(tx *state.Tx) error {
		_, err := getRec[state.Connection](tx, p.ByName("id"), wordConnection)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.engine.VerifyArchive(r.Context(), p.ByName("id"))
}
