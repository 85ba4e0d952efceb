package tokenizer

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// The file holds an int32 max_token_length, then per token a float32 score, an int32 length
// and that many bytes of piece, all little-endian. The token count is not stored.

// maxTokenLimit bounds max_token_length: real vocabularies stay below a hundred bytes, so a
// larger value means the file is not a tokenizer, and reading it must not allocate gigabytes.
const maxTokenLimit = 1 << 16

// Load reads the tokenizer file at path, which must hold exactly vocabSize tokens: the
// vocabulary size of the model it is used with, that is the absolute value of a llama2.c
// checkpoint's vocab_size (negative there when the classifier weights are not shared).
// Errors name the file.
func Load(path string, vocabSize int) (*Tokenizer, error) {
	// The type is checked before the open: opening a FIFO waits for a writer, forever if none
	// comes, and opening a device can act on it. When os.Stat fails, os.Open says why in its
	// usual words.
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("tokenizer %s: not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open tokenizer: %w", err)
	}
	defer f.Close()
	return readSized(f, path, vocabSize)
}

// Read reads a tokenizer file from r that must hold exactly vocabSize tokens, the vocabulary
// size of the model it is used with (see Load).
func Read(r io.Reader, vocabSize int) (*Tokenizer, error) {
	return readSized(r, "tokenizer file", vocabSize)
}

// ReadAll reads a tokenizer file of unknown vocabulary size from r: tokens up to the end of r.
func ReadAll(r io.Reader) (*Tokenizer, error) {
	const name = "tokenizer file"
	pieces, scores, err := parse(r, name)
	if err != nil {
		return nil, err
	}
	return build(name, pieces, scores)
}

// readSized reads a tokenizer file that must hold vocabSize tokens; name is the file's name in
// messages.
func readSized(r io.Reader, name string, vocabSize int) (*Tokenizer, error) {
	pieces, scores, err := parse(r, name)
	if err != nil {
		return nil, err
	}
	if len(pieces) != vocabSize {
		why := "use the tokenizer the model was trained with"
		if len(pieces) < vocabSize {
			why += ", or a whole copy of this one if it was cut short"
		}
		return nil, fmt.Errorf("%s has %d tokens but the model's vocabulary is %d: %s", name, len(pieces), vocabSize, why)
	}
	return build(name, pieces, scores)
}

// fileReader reads the fields of a tokenizer file, keeping the offset for error messages.
type fileReader struct {
	r    *bufio.Reader
	name string // file name for messages
	off  int64  // offset of the next unread byte
	word [4]byte
}

// read fills p with the field of a token (or of the header, for token -1); a read that ends
// early is an error naming the field. Messages are formatted only on error: loading formats
// nothing per token.
func (fr *fileReader) read(p []byte, field string, token int) error {
	n, err := io.ReadFull(fr.r, p)
	fr.off += int64(n)
	if err == nil {
		return nil
	}
	where := "the " + field
	if token >= 0 {
		where += fmt.Sprintf(" of token %d", token)
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%s is truncated: it ends at offset %d inside %s (%d of %d bytes)", fr.name, fr.off, where, n, len(p))
	}
	return fmt.Errorf("%s: reading %s at offset %d: %w", fr.name, where, fr.off, err)
}

// uint32 reads a little-endian 4-byte field.
func (fr *fileReader) uint32(field string, token int) (uint32, error) {
	if err := fr.read(fr.word[:], field, token); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(fr.word[:]), nil
}

// atEnd reports whether the input is exhausted, which is where a token list may end.
func (fr *fileReader) atEnd() (bool, error) {
	_, err := fr.r.Peek(1)
	if err == io.EOF {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s: reading at offset %d: %w", fr.name, fr.off, err)
	}
	return false, nil
}

// parse returns the pieces and scores of all the tokens in a tokenizer file.
func parse(r io.Reader, name string) (pieces []string, scores []float32, err error) {
	fr := &fileReader{r: bufio.NewReader(r), name: name}
	if end, err := fr.atEnd(); err != nil {
		return nil, nil, err
	} else if end {
		return nil, nil, fmt.Errorf("%s is empty: a llama2.c tokenizer starts with an int32 max_token_length", name)
	}
	word, err := fr.uint32("max_token_length header", -1)
	if err != nil {
		return nil, nil, err
	}
	maxLen := int32(word)
	if maxLen < 1 || maxLen > maxTokenLimit {
		return nil, nil, fmt.Errorf("%s: max_token_length is %d, not in 1..%d: this is not a llama2.c tokenizer file", name, maxLen, maxTokenLimit)
	}

	for {
		if end, err := fr.atEnd(); err != nil {
			return nil, nil, err
		} else if end {
			break
		}
		token := len(pieces)
		start := fr.off
		word, err := fr.uint32("score", token)
		if err != nil {
			return nil, nil, err
		}
		score := math.Float32frombits(word)
		if math.IsNaN(float64(score)) {
			return nil, nil, fmt.Errorf("%s: token %d at offset %d has a NaN score: the file is corrupt", name, token, start)
		}
		word, err = fr.uint32("length", token)
		if err != nil {
			return nil, nil, err
		}
		length := int32(word)
		if length < 0 || length > maxLen {
			return nil, nil, fmt.Errorf("%s: token %d at offset %d has length %d, outside 0..max_token_length (%d): the file is corrupt", name, token, start, length, maxLen)
		}
		piece := make([]byte, length)
		if err := fr.read(piece, "piece", token); err != nil {
			return nil, nil, err
		}
		pieces = append(pieces, string(piece))
		scores = append(scores, score)
	}
	return pieces, scores, nil
}

// build checks the tokens the format relies on and indexes the text pieces.
func build(name string, pieces []string, scores []float32) (*Tokenizer, error) {
	if len(pieces) < firstText {
		return nil, fmt.Errorf("%s has %d tokens, fewer than the %d the format needs (<unk>, BOS, EOS and the byte fallbacks <0x00>…<0xFF>): without them text outside the vocabulary cannot be encoded", name, len(pieces), firstText)
	}
	for b := range 256 {
		want := fmt.Sprintf("<0x%02X>", b)
		if got := pieces[byteBase+b]; got != want {
			return nil, fmt.Errorf("%s: token %d is %q where the byte fallback %s belongs: the file is not a byte-fallback vocabulary", name, byteBase+b, got, want)
		}
	}
	t := &Tokenizer{pieces: pieces, scores: scores, text: make(map[string]int, len(pieces)-firstText)}
	for id := firstText; id < len(pieces); id++ {
		if _, dup := t.text[pieces[id]]; !dup { // the first of equal pieces wins, deterministically
			t.text[pieces[id]] = id
		}
	}
	space, ok := t.text[dummyPrefix]
	if !ok {
		return nil, errors.New(name + ` has no token for " ", which the encoder prepends to every text as the dummy prefix`)
	}
	t.space = space
	return t, nil
}
