// LLaMA 2 prefill in SimpLang on q4 weights: T prompt tokens at positions pos … pos+T−1
// through the transformer of llama2_q4.sl in one call, filling the KV cache for all of them
// and writing the logits of the last one. Per token the arithmetic is llama2_q4_forward's
// (each projection's input quantized to i8 per group of gs, each group's dot product against
// the weights' nibbles summed in i32, isum · w_scale · x_scale added to the row in f32, group
// after group), so T calls of llama2_q4_forward leave the same logits and cache. What changes
// is the order: every projection runs over the rows of its matrices (in parallel) and, for
// each row, over the T tokens, so that a row is read from memory once per batch and stays in
// the cache while the tokens' quantized inputs go past it.
//
// Weights: llama2_q4.sl's (two 4-bit values per u8 in llama.cpp's q4_0 order, one f16 scale
// per group of gs of a row; the norm weights f32). Batch scratch (caller-owned, at least this
// big, contents ignored), as llama2_prefill.sl's, one row per token:
//   x, xb, xb2, q [T][dim]   k, v [T][kv_dim]   att [T][seq_len]   hb, hb2 [T][hidden_dim]
// and, as for decode, logits [vocab_size], key_cache, value_cache [n_layers][seq_len][kv_dim].
// tokens holds the T = n_tokens tokens; gs is the group size, theta the RoPE base.
//
// A projection writes row i's T results side by side (yt[i·T + t], a local array): rows
// running on different threads then write apart, in the layout the loop analysis accepts;
// to_tokens copies them back to one row per token.
//
// Returns logits[0]. T < 1, a batch that would run past the cache (pos + T > seq_len), a
// negative pos, a token out of range or a group size that is odd or does not divide dim and
// hidden_dim returns NaN and writes nothing.

// quantize_q8 quantizes x (n elements, n a multiple of gs) per group of gs, as llama2.c's
// runq.c: group g's scale xs[g] = max|x| / 127 over the group, and xq[j] = x[j] / xs[g]
// rounded to the nearest integer, halves away from zero; an all-zero group has scale 0 and
// values 0. On a batch of rows of a multiple of gs elements each, row t's groups are those
// of the row alone: its values from xq[t·n_row], its scales from xs[t·n_row/gs].
fn quantize_q8(i8[] xq, f32[] xs, f32[] x, i64 n, i64 gs) {
    var g = 0;
    while (g < n / gs) {
        var base = g * gs;
        var amax = 0.0;
        var j = 0;
        while (j < gs) {
            amax = max(amax, abs(x[base + j]));
            j = j + 1;
        }
        var scale = amax / 127.0;
        xs[g] = scale;
        j = 0;
        while (j < gs) {
            i32 r = 0;
            if (scale != 0.0) {
                // round half away from zero: truncate, then step away from zero when the
                // remainder (exact in f32 for |v| ≤ 127) is at least one half.
                var v = x[base + j] / scale;
                r = v as i32;
                var rest = v - (r as f32);
                if (rest >= 0.5) {
                    r = r + 1;
                } else if (rest <= -0.5) {
                    r = r - 1;
                }
            }
            xq[base + j] = r;
            j = j + 1;
        }
        g = g + 1;
    }
}

// matmul_q4: yt[i·m + t] = Σ_g (Σ_j xq[t·cols + g·gs + j] · (n_j - 8)) · w_s[e/gs + g] · xs[t·ng + g]
// with e = w_off + i·cols, n_j the 4-bit value of element e + g·gs + j and ng = cols / gs, for
// i < rows and t < m: the q4 rows from element w_off against the m quantized inputs (xq, xs)
// of cols elements each. Byte j of a group (gs/2 bytes from the row's byte e/2 + g·gs/2)
// holds the group's element j in its low nibble and element gs/2 + j in its high nibble.
fn matmul_q4(f32[] yt, u8[] w, f16[] w_s, i64 w_off, i8[] xq, f32[] xs, i64 m, i64 rows, i64 cols, i64 gs) {
    var ng = cols / gs;
    var hg = gs / 2;        // bytes per group
    var hc = cols / 2;      // bytes per row
    var b_off = w_off / 2;  // the first row's first byte
    var s_off = w_off / gs; // the first row's first scale (rows start at multiples of gs)
    var i = 0;
    while (i < rows) {
        var row = b_off + i * hc;  // the row's first byte
        var srow = s_off + i * ng; // the row's first scale, without a division per row
        var t = 0;
        while (t < m) {
            var xo = t * cols; // token t's values
            var so = t * ng;   // and scales
            var s = 0.0;
            var g = 0;
            while (g < ng) {
                i32 isum = 0;
                var j = 0;
                while (j < hg) {
                    var b = w[row + g * hg + j];
                    isum += (xq[xo + g * gs + j] as i32) * ((b & 15) as i32 - 8) +
                            (xq[xo + g * gs + hg + j] as i32) * ((b >> 4) as i32 - 8);
                    j = j + 1;
                }
                s += (isum as f32) * w_s[srow + g] * xs[so + g];
                g = g + 1;
            }
            yt[i * m + t] = s;
            t = t + 1;
        }
        i = i + 1;
    }
}

// The projections that read the same input run as one loop over the rows of all their
// matrices, as in llama2_q4.sl.

// matmul2_q4: rows 0 … rows1−1 of yt are w1·x (rows1 rows from w1_off), rows rows1 … the
// next rows2 are w2·x (rows2 rows from w2_off), for the m inputs (xq, xs), as matmul_q4.
fn matmul2_q4(f32[] yt, u8[] w1, f16[] w1_s, i64 w1_off, i64 rows1, u8[] w2, f16[] w2_s, i64 w2_off, i64 rows2,
              i8[] xq, f32[] xs, i64 m, i64 cols, i64 gs) {
    var ng = cols / gs;
    var hg = gs / 2;
    var hc = cols / 2;
    var b1_off = w1_off / 2;
    var b2_off = w2_off / 2;
    var s1_off = w1_off / gs;
    var s2_off = w2_off / gs;
    var i = 0;
    while (i < rows1 + rows2) {
        var t = 0;
        while (t < m) {
            var xo = t * cols;
            var so = t * ng;
            var s = 0.0;
            var g = 0;
            if (i < rows1) {
                var row = b1_off + i * hc;
                var srow = s1_off + i * ng;
                while (g < ng) {
                    i32 isum = 0;
                    var j = 0;
                    while (j < hg) {
                        var b = w1[row + g * hg + j];
                        isum += (xq[xo + g * gs + j] as i32) * ((b & 15) as i32 - 8) +
                                (xq[xo + g * gs + hg + j] as i32) * ((b >> 4) as i32 - 8);
                        j = j + 1;
                    }
                    s += (isum as f32) * w1_s[srow + g] * xs[so + g];
                    g = g + 1;
                }
            } else {
                var row = b2_off + (i - rows1) * hc;
                var srow = s2_off + (i - rows1) * ng;
                while (g < ng) {
                    i32 isum = 0;
                    var j = 0;
                    while (j < hg) {
                        var b = w2[row + g * hg + j];
                        isum += (xq[xo + g * gs + j] as i32) * ((b & 15) as i32 - 8) +
                                (xq[xo + g * gs + hg + j] as i32) * ((b >> 4) as i32 - 8);
                        j = j + 1;
                    }
                    s += (isum as f32) * w2_s[srow + g] * xs[so + g];
                    g = g + 1;
                }
            }
            yt[i * m + t] = s;
            t = t + 1;
        }
        i = i + 1;
    }
}

// qkv_q4: rows 0 … dim−1 of yt are wq·x (from q_off), the next kv_dim rows wk·x and the
// kv_dim after them wv·x (both from kv_off), for the m inputs (xq, xs), as matmul_q4.
fn qkv_q4(f32[] yt, u8[] wq, f16[] wq_s, i64 q_off, u8[] wk, f16[] wk_s, u8[] wv, f16[] wv_s, i64 kv_off,
          i8[] xq, f32[] xs, i64 m, i64 dim, i64 kv_dim, i64 gs) {
    var ng = dim / gs;
    var hg = gs / 2;
    var hd = dim / 2;
    var bq_off = q_off / 2;
    var bkv_off = kv_off / 2;
    var sq_off = q_off / gs;
    var skv_off = kv_off / gs;
    var i = 0;
    while (i < dim + 2 * kv_dim) {
        var t = 0;
        while (t < m) {
            var xo = t * dim;
            var so = t * ng;
            var s = 0.0;
            var g = 0;
            if (i < dim) {
                var row = bq_off + i * hd;
                var srow = sq_off + i * ng;
                while (g < ng) {
                    i32 isum = 0;
                    var j = 0;
                    while (j < hg) {
                        var b = wq[row + g * hg + j];
                        isum += (xq[xo + g * gs + j] as i32) * ((b & 15) as i32 - 8) +
                                (xq[xo + g * gs + hg + j] as i32) * ((b >> 4) as i32 - 8);
                        j = j + 1;
                    }
                    s += (isum as f32) * wq_s[srow + g] * xs[so + g];
                    g = g + 1;
                }
            } else if (i < dim + kv_dim) {
                var row = bkv_off + (i - dim) * hd;
                var srow = skv_off + (i - dim) * ng;
                while (g < ng) {
                    i32 isum = 0;
                    var j = 0;
                    while (j < hg) {
                        var b = wk[row + g * hg + j];
                        isum += (xq[xo + g * gs + j] as i32) * ((b & 15) as i32 - 8) +
                                (xq[xo + g * gs + hg + j] as i32) * ((b >> 4) as i32 - 8);
                        j = j + 1;
                    }
                    s += (isum as f32) * wk_s[srow + g] * xs[so + g];
                    g = g + 1;
                }
            } else {
                var row = bkv_off + (i - dim - kv_dim) * hd;
                var srow = skv_off + (i - dim - kv_dim) * ng;
                while (g < ng) {
                    i32 isum = 0;
                    var j = 0;
                    while (j < hg) {
                        var b = wv[row + g * hg + j];
                        isum += (xq[xo + g * gs + j] as i32) * ((b & 15) as i32 - 8) +
                                (xq[xo + g * gs + hg + j] as i32) * ((b >> 4) as i32 - 8);
                        j = j + 1;
                    }
                    s += (isum as f32) * wv_s[srow + g] * xs[so + g];
                    g = g + 1;
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
// position pos + t, computed in f64 as rope_tables of llama2_q4.sl: pair p turns by the angle
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
    var kv_dim = head_size * n_kv_heads;
    var kv_mul = n_heads / n_kv_heads;
    var scale = 1.0 / sqrt(head_size as f32);
    var h = 0;
    while (h < n_heads) {
        var kvo = (h / kv_mul) * head_size;
        var t = 0;
        while (t < m) {
            var qo = t * dim + h * head_size;
            var ao = t * seq_len;
            var last = pos + t;
            var s = 0;
            while (s <= last) {
                var ko = layer_off + s * kv_dim + kvo;
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
                var vo = layer_off + s * kv_dim + kvo;
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

// prefill_block_q4 runs layer l on the m rows of x (positions pos …): rmsnorm, q/k/v
// projections, rotary embedding, the rows' keys and values into the cache, attention, output
// projection, residual, then rmsnorm, SwiGLU feed-forward, down projection, residual. yt
// (m × max(dim + 2·kv_dim, 2·hidden_dim)) takes each projection's results; xq and xs
// (m × max(dim, hidden_dim) values, one scale per group of them) its quantized input.
fn prefill_block_q4(f32[] rms_att_w, f32[] rms_ffn_w,
                    u8[] wq, f16[] wq_s, u8[] wk, f16[] wk_s, u8[] wv, f16[] wv_s, u8[] wo, f16[] wo_s,
                    u8[] w1, f16[] w1_s, u8[] w2, f16[] w2_s, u8[] w3, f16[] w3_s,
                    f32[] x, f32[] xb, f32[] xb2, f32[] q, f32[] k, f32[] v, f32[] att,
                    f32[] hb, f32[] hb2, f32[] key_cache, f32[] value_cache, f32[] rope_cos, f32[] rope_sin,
                    f32[] yt, i8[] xq, f32[] xs,
                    i64 l, i64 pos, i64 m, i64 dim, i64 hidden_dim, i64 n_heads, i64 n_kv_heads, i64 seq_len, i64 gs) {
    var head_size = dim / n_heads;
    var kv_dim = head_size * n_kv_heads;

    // attention: rmsnorm, q/k/v projections, rotary embedding
    rmsnorm_rows(xb, x, rms_att_w, l * dim, m, dim);
    quantize_q8(xq, xs, xb, m * dim, gs);
    qkv_q4(yt, wq, wq_s, l * dim * dim, wk, wk_s, wv, wv_s, l * kv_dim * dim, xq, xs, m, dim, kv_dim, gs);
    to_tokens(q, yt, 0, dim, m);
    to_tokens(k, yt, dim, kv_dim, m);
    to_tokens(v, yt, dim + kv_dim, kv_dim, m);
    rope_rows(q, k, rope_cos, rope_sin, m, dim, kv_dim, head_size);

    // the rows' keys and values into the cache: positions pos … pos+m−1 are contiguous
    var layer_off = l * seq_len * kv_dim;
    var co = layer_off + pos * kv_dim;
    var i = 0;
    while (i < m * kv_dim) {
        key_cache[co + i] = k[i];
        value_cache[co + i] = v[i];
        i = i + 1;
    }

    // attention over positions 0 … pos+t for row t, output projection, residual
    attention_rows(xb, q, att, key_cache, value_cache, layer_off, pos, m, n_heads, n_kv_heads, head_size, seq_len);
    quantize_q8(xq, xs, xb, m * dim, gs);
    matmul_q4(yt, wo, wo_s, l * dim * dim, xq, xs, m, dim, dim, gs);
    to_tokens(xb2, yt, 0, dim, m);
    add(x, xb2, m * dim);

    // feed-forward: rmsnorm, SwiGLU (silu(w1·x) · (w3·x)), down projection, residual
    rmsnorm_rows(xb, x, rms_ffn_w, l * dim, m, dim);
    quantize_q8(xq, xs, xb, m * dim, gs);
    matmul2_q4(yt, w1, w1_s, l * hidden_dim * dim, hidden_dim, w3, w3_s, l * hidden_dim * dim, hidden_dim,
               xq, xs, m, dim, gs);
    to_tokens(hb, yt, 0, hidden_dim, m);
    to_tokens(hb2, yt, hidden_dim, hidden_dim, m);
    swiglu(hb, hb2, m * hidden_dim);
    quantize_q8(xq, xs, hb, m * hidden_dim, gs);
    matmul_q4(yt, w2, w2_s, l * dim * hidden_dim, xq, xs, m, dim, hidden_dim, gs);
    to_tokens(xb, yt, 0, dim, m);
    add(x, xb, m * dim);
}

fn llama2_prefill_q4(u8[] token_emb, f16[] token_emb_s, f32[] rms_att_w, f32[] rms_ffn_w,
                     u8[] wq, f16[] wq_s, u8[] wk, f16[] wk_s, u8[] wv, f16[] wv_s, u8[] wo, f16[] wo_s,
                     u8[] w1, f16[] w1_s, u8[] w2, f16[] w2_s, u8[] w3, f16[] w3_s,
                     f32[] rms_final_w, u8[] wcls, f16[] wcls_s,
                     f32[] x, f32[] xb, f32[] xb2, f32[] q, f32[] k, f32[] v, f32[] att,
                     f32[] hb, f32[] hb2, f32[] logits, f32[] key_cache, f32[] value_cache,
                     i64[] tokens, i64 n_tokens, i64 pos, i64 dim, i64 hidden_dim, i64 n_layers, i64 n_heads,
                     i64 n_kv_heads, i64 vocab_size, i64 seq_len, i64 gs, f64 theta) -> f32 {
    var zero = 0.0;
    if (n_tokens < 1 || pos < 0 || pos > seq_len - n_tokens ||
        gs <= 0 || gs % 2 != 0 || dim % gs != 0 || hidden_dim % gs != 0) {
        return zero / zero;
    }
    var t = 0;
    while (t < n_tokens) {
        if (tokens[t] < 0 || tokens[t] >= vocab_size) {
            return zero / zero;
        }
        t = t + 1;
    }

    // token embeddings, dequantized, one row per token: each row group by group
    var hg = gs / 2;
    t = 0;
    while (t < n_tokens) {
        var g = 0;
        while (g < dim / gs) {
            var e = tokens[t] * dim + g * gs; // the group's first element
            var scale = token_emb_s[e / gs];
            var xo = t * dim + g * gs;
            var j = 0;
            while (j < hg) {
                var b = token_emb[e / 2 + j];
                x[xo + j] = (((b & 15) as i32 - 8) as f32) * scale;
                x[xo + hg + j] = (((b >> 4) as i32 - 8) as f32) * scale;
                j = j + 1;
            }
            g = g + 1;
        }
        t = t + 1;
    }

    // the rotations of every row's position, shared by all heads and layers
    var head_size = dim / n_heads;
    var rope_cos = array<f32>([n_tokens * head_size]);
    var rope_sin = array<f32>([n_tokens * head_size]);
    rope_tables_rows(rope_cos, rope_sin, pos, n_tokens, head_size, theta);

    // each projection's results (row by row of the weights), and its input quantized
    var kv_dim = head_size * n_kv_heads;
    var yt = array<f32>([n_tokens * max(dim + 2 * kv_dim, 2 * hidden_dim)]);
    var xq = array<i8>([n_tokens * max(dim, hidden_dim)]);
    var xs = array<f32>([n_tokens * (max(dim, hidden_dim) / gs)]);

    var l = 0;
    while (l < n_layers) {
        prefill_block_q4(rms_att_w, rms_ffn_w, wq, wq_s, wk, wk_s, wv, wv_s, wo, wo_s,
                         w1, w1_s, w2, w2_s, w3, w3_s,
                         x, xb, xb2, q, k, v, att, hb, hb2, key_cache, value_cache, rope_cos, rope_sin,
                         yt, xq, xs, l, pos, n_tokens, dim, hidden_dim, n_heads, n_kv_heads, seq_len, gs);
        l = l + 1;
    }

    // final rmsnorm and classifier, for the last token only, as llama2_q4_forward
    var last = (n_tokens - 1) * dim;
    var i = 0;
    while (i < dim) {
        xb[i] = x[last + i];
        i = i + 1;
    }
    xb = rmsnorm(xb, rms_final_w, xb, dim, 0.00001);
    quantize_q8(xq, xs, xb, dim, gs);
    matmul_q4(logits, wcls, wcls_s, 0, xq, xs, 1, vocab_size, dim, gs);
    return logits[0];
}
