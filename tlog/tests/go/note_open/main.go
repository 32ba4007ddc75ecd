// note_open opens a signed note with Go's golang.org/x/mod/sumdb/note, the reference
// implementation of C2SP signed-note, given one verifier key: exit 0 and
// "verified N, unverified M" when the note opens, 1 when note.Open refuses it, 2 on bad
// arguments. Used by tests/go_note_interop.rs.
package main

import (
	"fmt"
	"os"

	"golang.org/x/mod/sumdb/note"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Println("usage: note_open VKEY NOTE_FILE")
		os.Exit(2)
	}
	verifier, err := note.NewVerifier(os.Args[1])
	if err != nil {
		fmt.Println("verifier key:", err)
		os.Exit(2)
	}
	msg, err := os.ReadFile(os.Args[2])
	if err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	opened, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	fmt.Printf("verified %d, unverified %d\n", len(opened.Sigs), len(opened.UnverifiedSigs))
}
