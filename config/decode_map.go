package config

import "gopkg.in/yaml.v3"

// pairs calls fn for every key/value of a mapping after resolving merge
// keys (<<) and reporting duplicate and non-string keys.
func (d *decoder) pairs(n *yaml.Node, path string, depth int, fn func(k, v *yaml.Node)) {
	type pair struct{ k, v *yaml.Node }
	var explicit, merged []pair
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			for _, src := range d.mergeSources(val, path, depth) {
				for j := 0; j+1 < len(src.Content); j += 2 {
					merged = append(merged, pair{src.Content[j], src.Content[j+1]})
				}
			}
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, "%s: mapping keys must be strings, got %s", displayPath(path), kindName(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.errorf(k, "%s: duplicate key %q (first defined at line %d)", displayPath(path), k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		explicit = append(explicit, pair{k, val})
	}
	for _, p := range merged {
		if p.k.Kind != yaml.ScalarNode || seen[p.k.Value] != nil {
			continue // explicit keys and earlier merges win
		}
		seen[p.k.Value] = p.k
		fn(p.k, p.v)
	}
	for _, p := range explicit {
		fn(p.k, p.v)
	}
}

// mergeSources returns the mappings named by a merge key's value.
func (d *decoder) mergeSources(val *yaml.Node, path string, depth int) []*yaml.Node {
	val, ok := d.enter(val, path, depth)
	if !ok {
		return nil
	}
	if val.Kind == yaml.MappingNode {
		return []*yaml.Node{val}
	}
	var out []*yaml.Node
	if val.Kind == yaml.SequenceNode {
		for _, item := range val.Content {
			if item, ok := d.enter(item, path, depth+1); ok && item.Kind == yaml.MappingNode {
				out = append(out, item)
				continue
			}
			d.errorf(item, "%s: << merges only mappings", displayPath(path))
		}
		return out
	}
	d.errorf(val, "%s: << merges only mappings", displayPath(path))
	return nil
}

// suggest returns the known name closest to key when it is a likely typo.
func suggest(key string, names []string) string {
	best, bestDist := "", 3
	for _, n := range names {
		if dist := editDistance(key, n); dist < bestDist {
			best, bestDist = n, dist
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
