package tokenizer

import (
	"bytes"
	"math"
	"slices"
	"testing"
)

// FuzzRead feeds arbitrary bytes to the reader: it must return an error or a tokenizer that
// round-trips text, never panic.
func FuzzRead(f *testing.F) {
	valid := craft(16, toyVocab(entry{score: 1, piece: "ab"}, entry{score: 2, piece: " ab"}, entry{piece: "é"}))
	f.Add(valid)
	f.Add(valid[:len(valid)-1])
	f.Add(craft(16, toyVocab()[:10]))
	f.Add(craft(16, toyVocab(entry{score: float32(math.NaN()), piece: "a"})))
	f.Add(craft(16, []entry{{piece: "x", length: length(-1)}}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := ReadAll(bytes.NewReader(data))
		if err != nil {
			return
		}
		if _, err := Read(bytes.NewReader(data), tok.VocabSize()); err != nil {
			t.Fatalf("ReadAll accepts the file but Read with its size %d fails: %v", tok.VocabSize(), err)
		}
		if _, err := Read(bytes.NewReader(data), tok.VocabSize()+1); err == nil {
			t.Fatalf("Read accepts %d tokens as %d", tok.VocabSize(), tok.VocabSize()+1)
		}
		for _, text := range []string{"", "ab abé", " \xff日本🙂 "} {
			if got := tok.DecodeAll(tok.Encode(text, true, true)); got != text {
				t.Errorf("round trip of %q gave %q", text, got)
			}
		}
	})
}

// FuzzRoundTrip encodes arbitrary strings with the real tokenizer: decoding must give the text
// back, and the merges must be the ones run.c's rescanning picks.
func FuzzRoundTrip(f *testing.F) {
	tok := llama2(f)
	for _, text := range roundTripTexts {
		f.Add(text)
	}
	f.Fuzz(func(t *testing.T, text string) {
		ids := tok.Encode(text, true, true)
		if got := tok.DecodeAll(ids); got != text {
			t.Fatalf("DecodeAll(Encode(%q)) = %q (ids %v)", text, got, ids)
		}
		inner := ids[1 : len(ids)-1]
		for _, id := range inner {
			if id < byteBase || id >= tok.VocabSize() {
				t.Fatalf("Encode(%q) = %v holds id %d, which is not text", text, ids, id)
			}
		}
		if text != "" {
			if want := rescan(tok, text); !slices.Equal(inner, want) {
				t.Fatalf("Encode(%q) = %v, rescanning gives %v", text, inner, want)
			}
		}
	})
}
