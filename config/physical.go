package config

// WalArchive is a connection's continuous WAL archiving (postgresql only).
type WalArchive struct {
	Enabled bool   `yaml:"enabled"`
	Storage string `yaml:"storage"` // a storage name; required when enabled
	// SpoolMaxBytes bounds the local spool of segments waiting for upload
	// (default 1 GiB); while it is full, pg_receivewal is paused and the
	// replication slot keeps the WAL on the server.
	SpoolMaxBytes int64 `yaml:"spool_max_bytes"`
}

// checkWalArchive checks a connection's wal_archive against the storage names.
func (c *checker) checkWalArchive(prefix, lbl string, conn Connection, storage map[string]Storage) {
	w := conn.WalArchive
	if w == nil || !w.Enabled {
		return
	}
	if conn.DBType != "postgresql" && !c.skip(prefix+".wal_archive") {
		c.errorAt(prefix+".wal_archive", "%s: wal_archive is supported for postgresql connections only, not %s", lbl, conn.DBType)
	}
	if _, ok := storage[w.Storage]; !ok && !c.skip(prefix+".wal_archive.storage") {
		c.errorAt(prefix+".wal_archive.storage", "%s: wal_archive.storage %q is not defined", lbl, w.Storage)
	}
	if w.SpoolMaxBytes < 0 && !c.skip(prefix+".wal_archive.spool_max_bytes") {
		c.errorAt(prefix+".wal_archive.spool_max_bytes", "%s: wal_archive.spool_max_bytes must not be negative", lbl)
	}
}

func (c *checker) checkWalArchives(storage map[string]Storage) {
	for i, conn := range c.file.Connections {
		prefix, lbl := label("connection", "connections", i, conn.Name)
		c.checkWalArchive(prefix, lbl, conn, storage)
	}
}
