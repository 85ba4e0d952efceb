// LLaMA 2 prefill in SimpLang: T prompt tokens at positions pos … pos+T−1 through the whole
// transformer in one call, filling the KV cache for all of them and writing the logits of the
// last one: the same as T calls of llama2_forward (llama2.sl), but every projection is a
// matrix–matrix product, so the weights are read once per batch instead of once per token.
//
// The projections are written as the plain transposed-B product (gemm_nt), which the
// compiler's lowering (lower/gemm.go) turns into register-blocked code with parallel row
// blocks; everything else works row by row as llama2.sl does for one token.
//
// Weights: llama2.sl's layout (f32, row-major [out][in], layers stacked). Batch scratch
// (caller-owned, at least this big, contents ignored):
//   x, xb, xb2, q [T][dim]   k, v [T][kv_dim]   att [T][seq_len]   hb, hb2 [T][hidden_dim]
// and, as for decode, logits [vocab_size] and key_cache, value_cache
// [n_layers][n_kv_heads][seq_len][head_size] (one run of positions per key/value head).
// tokens holds the T = n_tokens tokens; theta is the RoPE base (10000 for LLaMA 2).
//
// Returns logits[0]. T < 1, a batch that would run past the cache (pos + T > seq_len), a
// negative pos or a token out of range returns NaN and writes nothing.

// gemm_nt: c[i·n + j] = Σ_p a[i·k + p] · b[b_off + j·k + p] for i < m, j < n: the batch a
// (m×k) times the transpose of the weight matrix at b_off (n×k, [out][in]). The nest is
// exactly the form the lowering tiles; c is cleared first because the nest accumulates.
fn gemm_nt(f32[] c, f32[] a, f32[] b, i64 b_off, i64 m, i64 n, i64 k) {
    var z = 0;
    while (z < m * n) {
        c[z] = 0.0;
        z = z + 1;
    }
    var i = 0;
    while (i < m) {
        var j = 0;
        while (j < n) {
            var p = 0;
            while (p < k) {
                c[i * n + j] += a[i * k + p] * b[b_off + j * k + p];
                p = p + 1;
            }
            j = j + 1;
        }
        i = i + 1;
    }
}

// matvec_pf: out[i] = Σ_j w[w_off + i·cols + j] · x[j] for i < rows (the classifier, for
// the last token only).
fn matvec_pf(f32[] out, f32[] w, i64 w_off, f32[] x, i64 rows, i64 cols) {
    var i = 0;
    while (i < rows) {
        var row = w_off + i * cols;
        var s = 0.0;
        var j = 0;
        while (j < cols) {
            s += w[row + j] * x[j];
            j = j + 1;
        }
        out[i] = s;
        i = i + 1;
    }
}

// rmsnorm_rows: out[t·n + i] = w[w_off + i] · x[t·n + i] / sqrt(mean_i x[t·n + i]² + 1e-5)
// for each of the rows t < m.
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
// position pos + t, as rope_tables of llama2.sl does for one position: pair p turns by the
// angle (pos + t) / theta^(2p/head_size).
fn rope_tables_rows(f32[] cos_t, f32[] sin_t, i64 pos, i64 m, i64 head_size, f64 theta) {
    var half = head_size / 2;
    var base = theta as f32;
    var t = 0;
    while (t < m) {
        var p = 0;
        while (p < half) {
            var freq = 1.0 / pow(base, ((2 * p) as f32) / (head_size as f32));
            var angle = ((pos + t) as f32) * freq;
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
// in the cache: causal within the batch), softmax, and the weighted sum of the cached values
// into row t of out. Row t of att (seq_len) holds its scores.
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

// add_pf: x[i] += y[i] (the residual connections, over the whole batch).
fn add_pf(f32[] x, f32[] y, i64 n) {
    var i = 0;
    while (i < n) {
        x[i] += y[i];
        i = i + 1;
    }
}

// swiglu_pf: hb[i] = silu(hb[i]) · hb2[i].
fn swiglu_pf(f32[] hb, f32[] hb2, i64 n) {
    hb = silu(hb, hb, n);
    var i = 0;
    while (i < n) {
        hb[i] = hb[i] * hb2[i];
        i = i + 1;
    }
}

// prefill_block runs layer l on the m rows of x (positions pos …): rmsnorm, q/k/v
// projections, rotary embedding, the rows' keys and values into the cache, attention, output
// projection, residual, then rmsnorm, SwiGLU feed-forward, down projection, residual.
fn prefill_block(f32[] rms_att_w, f32[] rms_ffn_w, f32[] wq, f32[] wk, f32[] wv, f32[] wo,
                 f32[] w1, f32[] w2, f32[] w3,
                 f32[] x, f32[] xb, f32[] xb2, f32[] q, f32[] k, f32[] v, f32[] att,
                 f32[] hb, f32[] hb2, f32[] key_cache, f32[] value_cache, f32[] rope_cos, f32[] rope_sin,
                 i64 l, i64 pos, i64 m, i64 dim, i64 hidden_dim, i64 n_heads, i64 n_kv_heads, i64 seq_len) {
    var head_size = dim / n_heads;
    var kv_dim = head_size * n_kv_heads;

    rmsnorm_rows(xb, x, rms_att_w, l * dim, m, dim);
    gemm_nt(q, xb, wq, l * dim * dim, m, dim, dim);
    gemm_nt(k, xb, wk, l * kv_dim * dim, m, kv_dim, dim);
    gemm_nt(v, xb, wv, l * kv_dim * dim, m, kv_dim, dim);
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

    attention_rows(xb, q, att, key_cache, value_cache, layer_off, pos, m, n_heads, n_kv_heads, head_size, seq_len);
    gemm_nt(xb2, xb, wo, l * dim * dim, m, dim, dim);
    add_pf(x, xb2, m * dim);

    rmsnorm_rows(xb, x, rms_ffn_w, l * dim, m, dim);
    gemm_nt(hb, xb, w1, l * hidden_dim * dim, m, hidden_dim, dim);
    gemm_nt(hb2, xb, w3, l * hidden_dim * dim, m, hidden_dim, dim);
    swiglu_pf(hb, hb2, m * hidden_dim);
    gemm_nt(xb, hb, w2, l * dim * hidden_dim, m, dim, hidden_dim);
    add_pf(x, xb, m * dim);
}

fn llama2_prefill(f32[] token_emb, f32[] rms_att_w, f32[] rms_ffn_w,
                  f32[] wq, f32[] wk, f32[] wv, f32[] wo,
                  f32[] w1, f32[] w2, f32[] w3, f32[] rms_final_w, f32[] wcls,
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

    // token embeddings, one row per token
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

    var l = 0;
    while (l < n_layers) {
        prefill_block(rms_att_w, rms_ffn_w, wq, wk, wv, wo, w1, w2, w3,
                      x, xb, xb2, q, k, v, att, hb, hb2, key_cache, value_cache, rope_cos, rope_sin,
                      l, pos, n_tokens, dim, hidden_dim, n_heads, n_kv_heads, seq_len);
        l = l + 1;
    }

    // final rmsnorm and classifier, for the last token only
    var last = (n_tokens - 1) * dim;
    var ss = 0.0;
    var i = 0;
    while (i < dim) {
        ss += x[last + i] * x[last + i];
        i = i + 1;
    }
    var r = 1.0 / sqrt(ss / (dim as f32) + 0.00001);
    i = 0;
    while (i < dim) {
        xb[i] = rms_final_w[i] * (x[last + i] * r);
        i = i + 1;
    }
    matvec_pf(logits, wcls, 0, xb, vocab_size, dim);
    return logits[0];
}
