package config

import (
	"slices"
	"strconv"
)

// checkSecrets warns about secrets written literally in the file (it lives
// in git); ${VAR} and ${file:...} references are the way to go.
func (c *checker) checkSecrets() {
	f := c.file
	c.literal("server.metrics_token", f.Server.MetricsToken)
	for i, conn := range f.Connections {
		c.literal("connections["+strconv.Itoa(i)+"].password", conn.Password)
	}
	for i, s := range f.Storage {
		c.literal("storage["+strconv.Itoa(i)+"].secret_key", s.SecretKey)
	}
	if f.Encryption != nil {
		for i, k := range f.Encryption.Keys {
			c.literal("encryption.keys["+strconv.Itoa(i)+"].key", k.Key)
		}
	}
	for i, n := range f.Notifications {
		prefix := "notifications[" + strconv.Itoa(i) + "].config."
		for _, k := range SecretConfigKeys(n.Type) {
			if k != "headers" {
				c.literal(prefix+k, n.Config[k])
				continue
			}
			headers, _ := n.Config[k].(map[string]any)
			names := make([]string, 0, len(headers))
			for h := range headers {
				names = append(names, h)
			}
			slices.Sort(names)
			for _, h := range names {
				c.literal(prefix+"headers."+h, headers[h])
			}
		}
	}
}

func (c *checker) literal(path string, v any) {
	m, ok := c.meta[path]
	if !ok || m.null || m.hasRef || m.bad || v == nil || v == "" {
		return
	}
	c.warnAt(path, "literal secret in %s; use ${VAR} or ${file:...}", path)
}
