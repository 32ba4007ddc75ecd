// tlog_public_audit is an outside auditor written against Go's golang.org/x/mod/sumdb
// (note and tlog, the reference implementation of signed notes and tiled logs, as Debian
// packages it). With no credentials it opens two checkpoints of a registry member's log
// with the log's verifier key, reads the node's public hash tiles over HTTP through
// tlog.TileHashReader, and checks that the older tree is a prefix of the newer one
// (ProveTree/CheckTree) and that a known entry is a leaf of the newer one
// (ProveRecord/CheckRecord). Used by tests/integration/issue_22_public_audit.rs.
//
// Exit 0 when both hold ("consistent OLD NEW; leaf I included"), 1 when a check fails,
// 2 on bad arguments or an unreadable file.
package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// tiles reads a C2SP tlog-tiles log: Go's tile paths carry the height
// ("tile/8/0/001"), C2SP's do not ("tile/0/001").
type tiles struct{ base string }

func (t tiles) Height() int { return 8 }

func (t tiles) ReadTiles(list []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(list))
	for i, tile := range list {
		path := strings.Replace(tile.Path(), "tile/8/", "tile/", 1)
		response, err := http.Get(t.base + "/log/" + path)
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(io.LimitReader(response.Body, 1<<16))
		response.Body.Close()
		if err != nil {
			return nil, err
		}
		if response.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s answered %s", path, response.Status)
		}
		out[i] = data
	}
	return out, nil
}

func (t tiles) SaveTiles([]tlog.Tile, [][]byte) {}

// open verifies a checkpoint with the log's key and returns its tree.
func open(verifier note.Verifier, file string) (tlog.Tree, error) {
	text, err := os.ReadFile(file)
	if err != nil {
		fail(2, err)
	}
	opened, err := note.Open(text, note.VerifierList(verifier))
	if err != nil {
		return tlog.Tree{}, err
	}
	// A C2SP checkpoint: origin, size, base64 root (tlog.ParseTree wants go.sum's origin).
	lines := bytes.Split([]byte(opened.Text), []byte("\n"))
	if len(lines) < 3 {
		return tlog.Tree{}, fmt.Errorf("%s is not a checkpoint", file)
	}
	size, err := strconv.ParseInt(string(lines[1]), 10, 64)
	if err != nil {
		return tlog.Tree{}, err
	}
	root, err := tlog.ParseHash(string(lines[2]))
	if err != nil {
		return tlog.Tree{}, err
	}
	return tlog.Tree{N: size, Hash: root}, nil
}

func fail(code int, err error) {
	fmt.Println(err)
	os.Exit(code)
}

func main() {
	if len(os.Args) != 7 {
		fmt.Println("usage: tlog_public_audit BASE_URL VKEY OLD_NOTE NEW_NOTE INDEX ENTRY_FILE")
		os.Exit(2)
	}
	base, vkey, oldFile, newFile := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	index, err := strconv.ParseInt(os.Args[5], 10, 64)
	if err != nil {
		fail(2, err)
	}
	entry, err := os.ReadFile(os.Args[6])
	if err != nil {
		fail(2, err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		fail(2, err)
	}
	older, err := open(verifier, oldFile)
	if err != nil {
		fail(1, fmt.Errorf("old checkpoint: %v", err))
	}
	newer, err := open(verifier, newFile)
	if err != nil {
		fail(1, fmt.Errorf("new checkpoint: %v", err))
	}
	reader := tlog.TileHashReader(newer, tiles{base})
	proof, err := tlog.ProveTree(newer.N, older.N, reader)
	if err != nil {
		fail(1, fmt.Errorf("consistency proof from the tiles: %v", err))
	}
	if err := tlog.CheckTree(proof, newer.N, newer.Hash, older.N, older.Hash); err != nil {
		fail(1, fmt.Errorf("not consistent: %v", err))
	}
	record, err := tlog.ProveRecord(newer.N, index, reader)
	if err != nil {
		fail(1, fmt.Errorf("inclusion proof from the tiles: %v", err))
	}
	if err := tlog.CheckRecord(record, newer.N, newer.Hash, index, tlog.RecordHash(entry)); err != nil {
		fail(1, fmt.Errorf("not included: %v", err))
	}
	fmt.Printf("consistent %d %d; leaf %d included; root %s\n", older.N, newer.N, index,
		base64.StdEncoding.EncodeToString(newer.Hash[:]))
}
