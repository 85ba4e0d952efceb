package llama

// CacheType is the element type of the key and value caches (Config.KVCache). The caches
// are the only run state that grows with the context: at long positions the attention reads
// them as much as the weights of a small model, so a half-size cache buys speed and room.
type CacheType int

const (
	// CacheF32 keeps keys and values in float32, as llama2.c: the default, and the cache of
	// the results that are compared with llama2.c's.
	CacheF32 CacheType = iota
	// CacheF16 keeps them as IEEE half floats (State.KeyCacheF16, ValueCacheF16), as
	// llama.cpp does by default: each key and value is rounded to nearest even when it is
	// stored, and the attention reads half the bytes.
	CacheF16
)

var cacheTypeNames = []string{"f32", "f16"}

// String is the type's name: f32 or f16.
func (t CacheType) String() string { return nameOf(cacheTypeNames, t, "CacheType") }

// ParseCacheType reads a cache type by its String name: f32 or f16.
func ParseCacheType(s string) (CacheType, error) {
	return parseName[CacheType](cacheTypeNames, s, "KV cache type")
}

// elementBytes is the size of one cached key or value element.
func (t CacheType) elementBytes() int64 {
	if t == CacheF16 {
		return 2
	}
	return 4
}
