package web

import "io/fs"

// Files returns the embedded client, rooted at its top directory, for the
// tests of package web_test.
func Files() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err)
	}
	return sub
}
