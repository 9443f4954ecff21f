package config

// checkBinlogArchiveRefs checks that each connection's binlog_archive names
// a defined storage.
func (c *checker) checkBinlogArchiveRefs(storage map[string]Storage) {
	for i, conn := range c.file.Connections {
		a := conn.BinlogArchive
		if a == nil || !a.Enabled || a.Storage == "" {
			continue
		}
		prefix, lbl := label("connection", "connections", i, conn.Name)
		if _, ok := storage[a.Storage]; !ok && !c.skip(prefix+".binlog_archive.storage") {
			c.errorAt(prefix+".binlog_archive.storage", "%s: binlog_archive.storage %q is not defined", lbl, a.Storage)
		}
	}
}
