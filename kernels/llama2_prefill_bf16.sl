// LLaMA 2 prefill in SimpLang on bf16 weights: T prompt tokens at positions pos … pos+T−1
// through the transformer of llama2_bf16.sl in one call, filling the KV cache for all of them
// and writing the logits of the last one. Per token the arithmetic is llama2_bf16_forward's
// (each bf16 weight widened exactly to f32, the sums in f32), so T calls of
// llama2_bf16_forward leave the same logits and cache, up to the order of the f32 additions.
// What changes is the order of the work: every projection runs over the rows of its matrices
// (in parallel) and, for each row, over the T tokens, so that a row is read from memory once
// per batch and stays in the cache while the tokens' inputs go past it.
//
// Weights: llama2_bf16.sl's (bf16, row-major [out][in], layers stacked; the norm weights
// f32). Batch scratch (caller-owned, at least this big, contents ignored), as
// llama2_prefill.sl's, one row per token:
//   x, xb, xb2, q [T][dim]   k, v [T][kv_dim]   att [T][seq_len]   hb, hb2 [T][hidden_dim]
// and, as for decode, logits [vocab_size] and key_cache, value_cache
// [n_layers][n_kv_heads][seq_len][head_size] (one run of positions per key/value head).
// tokens holds the T = n_tokens tokens; theta is the RoPE base.
//
// A projection writes row i's T results side by side (yt[i·T + t], a local array): rows
// running on different threads then write apart, in the layout the loop analysis accepts;
// to_tokens copies them back to one row per token. The row runs against one token at a time:
// its f32 sum vectorizes with several accumulators of its own. (Four tokens side by side, as
// the q8 and q4 prefills run them, measured slower at 125M: about 320 against 375 prompt
// tokens/s on 2 threads.)
//
// Returns logits[0]. T < 1, a batch that would run past the cache (pos + T > seq_len), a
// negative pos or a token out of range returns NaN and writes nothing.

// matmul_bf16: yt[i·m + t] = Σ_j w[w_off + i·cols + j] · x[t·cols + j] for i < rows and
// t < m: the bf16 rows from element w_off, each weight widened exactly to f32, against the m
// inputs of cols elements each, summed in f32.
fn matmul_bf16(f32[] yt, bf16[] w, i64 w_off, f32[] x, i64 m, i64 rows, i64 cols) {
    var i = 0;
    while (i < rows) {
        var row = w_off + i * cols;
        var t = 0;
        while (t < m) {
            var xo = t * cols; // token t's input
            var s = 0.0;
            var j = 0;
            while (j < cols) {
                s += w[row + j] * x[xo + j];
                j = j + 1;
            }
            yt[i * m + t] = s;
            t = t + 1;
        }
        i = i + 1;
    }
}

// The projections that read the same input run as one loop over the rows of all their
// matrices, as in llama2_bf16.sl.

// matmul2_bf16: rows 0 … rows1−1 of yt are w1·x (rows1 rows from w1_off), rows rows1 … the
// next rows2 are w2·x (rows2 rows from w2_off), for the m inputs x, as matmul_bf16.
fn matmul2_bf16(f32[] yt, bf16[] w1, i64 w1_off, i64 rows1, bf16[] w2, i64 w2_off, i64 rows2,
                f32[] x, i64 m, i64 cols) {
    var i = 0;
    while (i < rows1 + rows2) {
        var t = 0;
        while (t < m) {
            var xo = t * cols;
            var s = 0.0;
            var j = 0;
            if (i < rows1) {
                var row = w1_off + i * cols;
                while (j < cols) {
                    s += w1[row + j] * x[xo + j];
                    j = j + 1;
                }
            } else {
                var row = w2_off + (i - rows1) * cols;
                while (j < cols) {
                    s += w2[row + j] * x[xo + j];
                    j = j + 1;
                }
            }
            yt[i * m + t] = s;
            t = t + 1;
        }
        i = i + 1;
    }
}

// qkv_bf16: rows 0 … dim−1 of yt are wq·x (from q_off), the next kv_dim rows wk·x and the
// kv_dim after them wv·x (both from kv_off), for the m inputs x, as matmul_bf16.
fn qkv_bf16(f32[] yt, bf16[] wq, i64 q_off, bf16[] wk, bf16[] wv, i64 kv_off,
            f32[] x, i64 m, i64 dim, i64 kv_dim) {
    var i = 0;
    while (i < dim + 2 * kv_dim) {
        var t = 0;
        while (t < m) {
            var xo = t * dim;
            var s = 0.0;
            var j = 0;
            if (i < dim) {
                var row = q_off + i * dim;
                while (j < dim) {
                    s += wq[row + j] * x[xo + j];
                    j = j + 1;
                }
            } else if (i < dim + kv_dim) {
                var row = kv_off + (i - dim) * dim;
                while (j < dim) {
                    s += wk[row + j] * x[xo + j];
                    j = j + 1;
                }
            } else {
                var row = kv_off + (i - dim - kv_dim) * dim;
                while (j < dim) {
                    s += wv[row + j] * x[xo + j];
                    j = j + 1;
                }
            }
            yt[i * m + t] = s;
            t = t + 1;
        }
        i = i + 1;
    }
}

// to_tokens: out[t·rows + i] = yt[(r0 + i)·m + t] for t < m, i < rows: rows r0 … r0+rows−1
// of a projection's results, one row per token.
fn to_tokens(f32[] out, f32[] yt, i64 r0, i64 rows, i64 m) {
    var t = 0;
    while (t < m) {
        var i = 0;
        while (i < rows) {
            out[t * rows + i] = yt[(r0 + i) * m + t];
            i = i + 1;
        }
        t = t + 1;
    }
}

// rmsnorm_rows: out[t·n + i] = w[w_off + i] · x[t·n + i] / sqrt(mean_i x[t·n + i]² + 1e-5)
// for each of the rows t < m: the rmsnorm builtin's loops, row by row.
fn rmsnorm_rows(f32[] out, f32[] x, f32[] w, i64 w_off, i64 m, i64 n) {
    var t = 0;
    while (t < m) {
        var ss = 0.0;
        var i = 0;
        while (i < n) {
            ss += x[t * n + i] * x[t * n + i];
            i = i + 1;
        }
        var r = 1.0 / sqrt(ss / (n as f32) + 0.00001);
        i = 0;
        while (i < n) {
            out[t * n + i] = w[w_off + i] * (x[t * n + i] * r);
            i = i + 1;
        }
        t = t + 1;
    }
}

// rope_tables_rows fills row t of cos_t and sin_t (head_size / 2 each) with the rotations of
// position pos + t, computed in f64 as rope_tables of llama2_bf16.sl: pair p turns by the angle
// (pos + t) / theta^(2p/head_size).
fn rope_tables_rows(f32[] cos_t, f32[] sin_t, i64 pos, i64 m, i64 head_size, f64 theta) {
    var half = head_size / 2;
    var t = 0;
    while (t < m) {
        var p = 0;
        while (p < half) {
            var freq = 1.0 / pow(theta, ((2 * p) as f64) / (head_size as f64));
            var angle = ((pos + t) as f64) * freq;
            cos_t[t * half + p] = cos(angle);
            sin_t[t * half + p] = sin(angle);
            p = p + 1;
        }
        t = t + 1;
    }
}

// rope_rows rotates each pair inside every head of the rows of q (m×dim) and k (m×kv_dim) by
// the rotations of row t of the tables.
fn rope_rows(f32[] q, f32[] k, f32[] cos_t, f32[] sin_t, i64 m, i64 dim, i64 kv_dim, i64 head_size) {
    var half = head_size / 2;
    var t = 0;
    while (t < m) {
        var i = 0;
        while (i < dim) {
            var p = t * half + (i % head_size) / 2;
            var c = cos_t[p];
            var s = sin_t[p];
            var qi = t * dim + i;
            var q0 = q[qi];
            var q1 = q[qi + 1];
            q[qi] = q0 * c - q1 * s;
            q[qi + 1] = q0 * s + q1 * c;
            if (i < kv_dim) {
                var ki = t * kv_dim + i;
                var k0 = k[ki];
                var k1 = k[ki + 1];
                k[ki] = k0 * c - k1 * s;
                k[ki + 1] = k0 * s + k1 * c;
            }
            i = i + 2;
        }
        t = t + 1;
    }
}

// attention_rows: for every head and every row t (the token at position pos + t), scores of
// its query against the cached keys of positions 0 … pos + t (the batch's own keys are already
// in the cache: causal within the batch), softmax, and the weighted sum of the cached values into
// row t of out. Row t of att (seq_len) holds its scores.
fn attention_rows(f32[] out, f32[] q, f32[] att, f32[] key_cache, f32[] value_cache, i64 layer_off,
                  i64 pos, i64 m, i64 n_heads, i64 n_kv_heads, i64 head_size, i64 seq_len) {
    var dim = head_size * n_heads;
    var kv_mul = n_heads / n_kv_heads;
    var scale = 1.0 / sqrt(head_size as f32);
    var h = 0;
    while (h < n_heads) {
        var kvo = (h / kv_mul) * seq_len * head_size; // its key/value head's run of positions
        var t = 0;
        while (t < m) {
            var qo = t * dim + h * head_size;
            var ao = t * seq_len;
            var last = pos + t;
            var s = 0;
            while (s <= last) {
                var ko = layer_off + kvo + s * head_size;
                var score = 0.0;
                var d = 0;
                while (d < head_size) {
                    score += q[qo + d] * key_cache[ko + d];
                    d = d + 1;
                }
                att[ao + s] = score * scale;
                s = s + 1;
            }
            att = softmax(att, att, last + 1, ao, ao);
            var d = 0;
            while (d < head_size) {
                out[qo + d] = 0.0;
                d = d + 1;
            }
            s = 0;
            while (s <= last) {
                var vo = layer_off + kvo + s * head_size;
                var a = att[ao + s];
                d = 0;
                while (d < head_size) {
                    out[qo + d] += a * value_cache[vo + d];
                    d = d + 1;
                }
                s = s + 1;
            }
            t = t + 1;
        }
        h = h + 1;
    }
}

// add: x[i] += y[i] (the residual connections, over the whole batch).
fn add(f32[] x, f32[] y, i64 n) {
    var i = 0;
    while (i < n) {
        x[i] += y[i];
        i = i + 1;
    }
}

// swiglu: hb[i] = silu(hb[i]) · hb2[i], the gated activation of the feed-forward network.
fn swiglu(f32[] hb, f32[] hb2, i64 n) {
    hb = silu(hb, hb, n);
    var i = 0;
    while (i < n) {
        hb[i] = hb[i] * hb2[i];
        i = i + 1;
    }
}

// prefill_block_bf16 runs layer l on the m rows of x (positions pos …): rmsnorm, q/k/v
// projections, rotary embedding, the rows' keys and values into the cache, attention, output
// projection, residual, then rmsnorm, SwiGLU feed-forward, down projection, residual. yt
// (m × max(dim + 2·kv_dim, 2·hidden_dim)) takes each projection's results.
fn prefill_block_bf16(f32[] rms_att_w, f32[] rms_ffn_w,
                      bf16[] wq, bf16[] wk, bf16[] wv, bf16[] wo, bf16[] w1, bf16[] w2, bf16[] w3,
                      f32[] x, f32[] xb, f32[] xb2, f32[] q, f32[] k, f32[] v, f32[] att,
                      f32[] hb, f32[] hb2, f32[] key_cache, f32[] value_cache, f32[] rope_cos, f32[] rope_sin,
                      f32[] yt, i64 l, i64 pos, i64 m, i64 dim, i64 hidden_dim, i64 n_heads, i64 n_kv_heads, i64 seq_len) {
    var head_size = dim / n_heads;
    var kv_dim = head_size * n_kv_heads;

    // attention: rmsnorm, q/k/v projections, rotary embedding
    rmsnorm_rows(xb, x, rms_att_w, l * dim, m, dim);
    qkv_bf16(yt, wq, l * dim * dim, wk, wv, l * kv_dim * dim, xb, m, dim, kv_dim);
    to_tokens(q, yt, 0, dim, m);
    to_tokens(k, yt, dim, kv_dim, m);
    to_tokens(v, yt, dim + kv_dim, kv_dim, m);
    rope_rows(q, k, rope_cos, rope_sin, m, dim, kv_dim, head_size);

    // the rows' keys and values into the cache: positions pos … pos+m−1 are one run in each
    // key/value head
    var layer_off = l * seq_len * kv_dim;
    var kh = 0;
    while (kh < n_kv_heads) {
        var co = layer_off + (kh * seq_len + pos) * head_size;
        var t = 0;
        while (t < m) {
            var d = 0;
            while (d < head_size) {
                key_cache[co + t * head_size + d] = k[t * kv_dim + kh * head_size + d];
                value_cache[co + t * head_size + d] = v[t * kv_dim + kh * head_size + d];
                d = d + 1;
            }
            t = t + 1;
        }
        kh = kh + 1;
    }

    // attention over positions 0 … pos+t for row t, output projection, residual
    attention_rows(xb, q, att, key_cache, value_cache, layer_off, pos, m, n_heads, n_kv_heads, head_size, seq_len);
    matmul_bf16(yt, wo, l * dim * dim, xb, m, dim, dim);
    to_tokens(xb2, yt, 0, dim, m);
    add(x, xb2, m * dim);

    // feed-forward: rmsnorm, SwiGLU (silu(w1·x) · (w3·x)), down projection, residual
    rmsnorm_rows(xb, x, rms_ffn_w, l * dim, m, dim);
    matmul2_bf16(yt, w1, l * hidden_dim * dim, hidden_dim, w3, l * hidden_dim * dim, hidden_dim, xb, m, dim);
    to_tokens(hb, yt, 0, hidden_dim, m);
    to_tokens(hb2, yt, hidden_dim, hidden_dim, m);
    swiglu(hb, hb2, m * hidden_dim);
    matmul_bf16(yt, w2, l * dim * hidden_dim, hb, m, dim, hidden_dim);
    to_tokens(xb, yt, 0, dim, m);
    add(x, xb, m * dim);
}

fn llama2_prefill_bf16(bf16[] token_emb, f32[] rms_att_w, f32[] rms_ffn_w,
                       bf16[] wq, bf16[] wk, bf16[] wv, bf16[] wo,
                       bf16[] w1, bf16[] w2, bf16[] w3,
                       f32[] rms_final_w, bf16[] wcls,
                       f32[] x, f32[] xb, f32[] xb2, f32[] q, f32[] k, f32[] v, f32[] att,
                       f32[] hb, f32[] hb2, f32[] logits, f32[] key_cache, f32[] value_cache,
                       i64[] tokens, i64 n_tokens, i64 pos, i64 dim, i64 hidden_dim, i64 n_layers, i64 n_heads,
                       i64 n_kv_heads, i64 vocab_size, i64 seq_len, f64 theta) -> f32 {
    var zero = 0.0;
    if (n_tokens < 1 || pos < 0 || pos > seq_len - n_tokens) {
        return zero / zero;
    }
    var t = 0;
    while (t < n_tokens) {
        if (tokens[t] < 0 || tokens[t] >= vocab_size) {
            return zero / zero;
        }
        t = t + 1;
    }

    // token embeddings, widened to f32, one row per token
    t = 0;
    while (t < n_tokens) {
        var e = tokens[t] * dim;
        var i = 0;
        while (i < dim) {
            x[t * dim + i] = token_emb[e + i];
            i = i + 1;
        }
        t = t + 1;
    }

    // the rotations of every row's position, shared by all heads and layers
    var head_size = dim / n_heads;
    var rope_cos = array<f32>([n_tokens * head_size]);
    var rope_sin = array<f32>([n_tokens * head_size]);
    rope_tables_rows(rope_cos, rope_sin, pos, n_tokens, head_size, theta);

    // each projection's results, row by row of the weights
    var kv_dim = head_size * n_kv_heads;
    var yt = array<f32>([n_tokens * max(dim + 2 * kv_dim, 2 * hidden_dim)]);

    var l = 0;
    while (l < n_layers) {
        prefill_block_bf16(rms_att_w, rms_ffn_w, wq, wk, wv, wo, w1, w2, w3,
                           x, xb, xb2, q, k, v, att, hb, hb2, key_cache, value_cache, rope_cos, rope_sin,
                           yt, l, pos, n_tokens, dim, hidden_dim, n_heads, n_kv_heads, seq_len);
        l = l + 1;
    }

    // final rmsnorm and classifier, for the last token only, as llama2_bf16_forward
    var last = (n_tokens - 1) * dim;
    var i = 0;
    while (i < dim) {
        xb[i] = x[last + i];
        i = i + 1;
    }
    xb = rmsnorm(xb, rms_final_w, xb, dim, 0.00001);
    matmul_bf16(logits, wcls, 0, xb, 1, vocab_size, dim);
    return logits[0];
}
