// Package tokenizer turns text into Llama 2 token ids and token ids back into text, using a
// vocabulary in the llama2.c tokenizer file format (byte-pair encoding driven by per-token
// scores, with byte fallback).
//
// Load the file the model was trained with, giving the model's vocabulary size, then encode a
// prompt and decode generated tokens one at a time:
//
//	tok, err := tokenizer.Load("tokenizer.bin", vocabSize)
//	ids := tok.Encode("Once upon a time", true, false) // BOS first, no EOS
//	text := tok.Decode(prev, next)                    // the text of one generated token
//
// Encoding follows llama2.c's run.c: a dummy-prefix space is prepended to non-empty text, each
// UTF-8 code point becomes its vocabulary token or, failing that, one byte-fallback token per
// byte, and then the adjacent pair whose concatenation is the best-scoring vocabulary entry is
// merged until no pair merges. Decoding strips the dummy-prefix space again from the token that
// follows BOS, so DecodeAll(Encode(s, true, …)) == s for every string s, valid UTF-8 or not.
//
// As in SentencePiece, and unlike run.c's plain string lookup, the control and byte-fallback
// tokens never match text, so a text that spells "<0x41>" or "\n<s>\n" stays that text. On the
// Llama 2 vocabulary both give the same ids for ordinary text.
package tokenizer

import (
	"container/heap"
	"strings"
	"unicode/utf8"
)

// Fixed token ids of the format: 0 is <unk>, 1 and 2 the sequence delimiters, and the next 256
// the byte fallbacks <0x00>…<0xFF>.
const (
	BOS = 1 // beginning of sequence
	EOS = 2 // end of sequence

	byteBase    = 3              // token id of byte 0x00
	firstText   = byteBase + 256 // first id that may stand for text
	dummyPrefix = " "            // piece prepended to non-empty text before merging
)

// Tokenizer is a loaded vocabulary. It is read-only after loading, so one Tokenizer may be
// used from several goroutines at once.
type Tokenizer struct {
	pieces []string       // (vocab) text of each token, ' ' standing for SentencePiece's '▁'
	scores []float32      // (vocab) merge priority of each token, higher merges first
	text   map[string]int // piece → id for the ids from firstText on: what text may become
	space  int            // id of the dummy-prefix piece " "
}

// VocabSize returns the number of tokens in the vocabulary.
func (t *Tokenizer) VocabSize() int { return len(t.pieces) }

// Encode returns the token ids of text, with BOS first when bos is set and EOS last when eos
// is set. Bytes that are not valid UTF-8 become byte-fallback tokens.
func (t *Tokenizer) Encode(text string, bos, eos bool) []int {
	var ids []int
	if bos {
		ids = append(ids, BOS)
	}
	if text != "" {
		ids = append(ids, t.merge(t.split(text))...)
	}
	if eos {
		ids = append(ids, EOS)
	}
	return ids
}

// split returns the dummy prefix followed by one token per code point of text, or one
// byte-fallback token per byte for code points (and invalid bytes) outside the vocabulary.
func (t *Tokenizer) split(text string) []int {
	ids := make([]int, 1, len(text)+1)
	ids[0] = t.space
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if r != utf8.RuneError || size > 1 {
			if id, ok := t.text[text[i:i+size]]; ok {
				ids = append(ids, id)
				i += size
				continue
			}
		}
		for _, b := range []byte(text[i : i+size]) {
			ids = append(ids, byteBase+int(b))
		}
		i += size
	}
	return ids
}

// A candidate is a merge of two adjacent symbols, identified by their positions in the initial
// split. Merging keeps the survivors in order, so the smaller left position is the leftmost.
type candidate struct {
	left, right     int     // positions of the two symbols
	leftID, rightID int     // their ids when the candidate was made; stale if either changed
	merged          int     // id of the concatenation
	score           float32 // its score
}

// queue orders candidates as run.c picks them: best score first, the leftmost among equals.
type queue []candidate

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if q[i].score != q[j].score {
		return q[i].score > q[j].score
	}
	return q[i].left < q[j].left
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(candidate)) }
func (q *queue) Pop() any {
	old := *q
	c := old[len(old)-1]
	*q = old[:len(old)-1]
	return c
}

// merge applies the best-scoring merge until none applies. run.c rescans the whole sequence
// for every merge; a priority queue of candidates gives the same merges in O(n log n), which
// matters for prompts of thousands of characters.
func (t *Tokenizer) merge(ids []int) []int {
	n := len(ids)
	prev, next := make([]int, n), make([]int, n)
	for i := range ids {
		prev[i], next[i] = i-1, i+1
	}
	next[n-1] = -1
	var q queue
	var buf []byte
	consider := func(l, r int) {
		a, b := ids[l], ids[r]
		if a < firstText || b < firstText { // byte fallbacks never merge
			return
		}
		buf = append(append(buf[:0], t.pieces[a]...), t.pieces[b]...)
		if id, ok := t.text[string(buf)]; ok {
			heap.Push(&q, candidate{l, r, a, b, id, t.scores[id]})
		}
	}
	for i := 0; i+1 < n; i++ {
		consider(i, i+1)
	}
	for q.Len() > 0 {
		c := heap.Pop(&q).(candidate)
		if next[c.left] != c.right || ids[c.left] != c.leftID || ids[c.right] != c.rightID {
			continue // one side has merged since this candidate was made
		}
		ids[c.left], ids[c.right] = c.merged, -1
		after := next[c.right]
		next[c.left] = after
		if after >= 0 {
			prev[after] = c.left
			consider(c.left, after)
		}
		if before := prev[c.left]; before >= 0 {
			consider(before, c.left)
		}
	}
	out := ids[:0]
	for i := 0; i >= 0; i = next[i] {
		out = append(out, ids[i])
	}
	return out
}

// Decode returns the text of token when it follows prev. After BOS the leading space of a piece
// is dropped (it is the dummy prefix), a byte-fallback token is its single raw byte (possibly
// part of a multi-byte character completed by the next tokens), and BOS, EOS and ids outside
// the vocabulary have no text.
func (t *Tokenizer) Decode(prev, token int) string {
	switch {
	case token < 0 || token >= len(t.pieces) || token == BOS || token == EOS:
		return ""
	case token >= byteBase && token < firstText:
		return string([]byte{byte(token - byteBase)})
	}
	piece := t.pieces[token]
	if prev == BOS {
		piece = strings.TrimPrefix(piece, " ")
	}
	return piece
}

// DecodeAll returns the text of a whole sequence of tokens, decoding each after its
// predecessor.
func (t *Tokenizer) DecodeAll(tokens []int) string {
	var sb strings.Builder
	prev := -1
	for _, tok := range tokens {
		sb.WriteString(t.Decode(prev, tok))
		prev = tok
	}
	return sb.String()
}
