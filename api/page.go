package api

import (
	"net/http"
	"strconv"
)

// maxUnpaged caps a list answered without limit and offset (the reference's
// unpaginated shape) and any explicit limit: a client asking for more gets
// the first maxUnpaged items, and X-Total-Count tells it there are more.
const maxUnpaged = 10_000

// page is the window a list request asks for: ?limit=&offset=, both
// non-negative integers (anything else is a 400). limit 0 or absent means
// "up to maxUnpaged"; a limit above maxUnpaged is lowered to it.
type page struct {
	limit, offset int
}

func pageOf(r *http.Request) (page, error) {
	limit, err := queryInt(r, "limit", 0)
	if err != nil {
		return page{}, err
	}
	offset, err := queryInt(r, "offset", 0)
	if err != nil {
		return page{}, err
	}
	if limit == 0 || limit > maxUnpaged {
		limit = maxUnpaged
	}
	return page{limit: limit, offset: offset}, nil
}

// listPage is a list response: the body is the bare JSON array items (the
// reference's shape, paginated or not); total, the number of items before
// the window, goes to the X-Total-Count header.
type listPage struct {
	items any
	total int
}

// window cuts all to p.
func window[V any](all []V, p page) []V {
	lo := min(p.offset, len(all))
	hi := min(lo+p.limit, len(all))
	return all[lo:hi]
}

// pageViews windows all (full and sorted) to p and turns only the window
// into views, so a page of 50 out of 1,000 builds 50 views.
func pageViews[R, V any](all []R, p page, view func(R) V) listPage {
	return pagedViews(window(all, p), len(all), view)
}

// pagedViews turns a page read from the store (state.Page) into views.
func pagedViews[R, V any](win []R, total int, view func(R) V) listPage {
	out := make([]V, 0, len(win))
	for _, r := range win {
		out = append(out, view(r))
	}
	return listPage{items: out, total: total}
}

// setTotal sets the X-Total-Count header.
func setTotal(w http.ResponseWriter, total int) {
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
}
