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
// and, as for decode, logits [vocab_size] and key_cache, value_cache
// [n_layers][n_kv_heads][seq_len][head_size] (one run of positions per key/value head).
// tokens holds the T = n_tokens tokens; gs is the group size, theta the RoPE base.
//
// A projection (matmul_q4) runs four tokens at a time against each row and writes the
// results row by row of the weights, one array for each token of a block (y_k[i·nb + b]):
// rows running on different threads then write apart, in the layout the loop analysis
// accepts; to_tokens copies them back to one row per token.
//
// Returns logits[0]. T < 1, a batch that would run past the cache (pos + T > seq_len), a
// negative pos, a token out of range or a group size that is odd or does not divide dim and
// hidden_dim returns NaN and writes nothing.

// quantize_split quantizes the m rows of x (n elements each, n a multiple of gs) per group of
// gs, as llama2.c's runq.c: group g's scale is max|x| / 127 over the group, and each value is
// x / scale rounded to the nearest integer, halves away from zero; an all-zero group has
// scale 0 and values 0. Row t's scales go to xs[t·n/gs + g] and its values to xq[t·n …],
// split by halves of groups as llama2_q4.sl's quantize_split: group g's first half at
// xq[t·n + g·gs/2 + j], its second half at xq[t·n + n/2 + g·gs/2 + j].
fn quantize_split(i8[] xq, f32[] xs, f32[] x, i64 m, i64 n, i64 gs) {
    var ng = n / gs;
    var hg = gs / 2;
    var t = 0;
    while (t < m) {
        var lo = t * n;      // the row's inputs of low nibbles
        var hi = lo + n / 2; // and of high ones
        var g = 0;
        while (g < ng) {
            var base = t * n + g * gs;
            var amax = 0.0;
            var j = 0;
            while (j < gs) {
                amax = max(amax, abs(x[base + j]));
                j = j + 1;
            }
            var scale = amax / 127.0;
            xs[t * ng + g] = scale;
            // an all-zero group divides by 1 instead of 0, which gives its values 0
            var divisor = scale;
            if (scale == 0.0) {
                divisor = 1.0;
            }
            j = 0;
            while (j < hg) {
                // |x / scale| ≤ 127: exact i8s
                xq[lo + g * hg + j] = round(x[base + j] / divisor);
                xq[hi + g * hg + j] = round(x[base + hg + j] / divisor);
                j = j + 1;
            }
            g = g + 1;
        }
        t = t + 1;
    }
}

// matvec_q4: out[i] = Σ_g (Σ_j x_j · (n_j - 8)) · w_s[e/gs + g] · xs[g] with e = w_off + i·cols,
// n_j the 4-bit value of element e + g·gs + j and x_j the quantized input of element g·gs + j
// (xq split by halves of groups), for i < rows: llama2_q4.sl's mat-vec, for the classifier of
// the last token. Byte j of a group (gs/2 bytes
// from the row's byte e/2 + g·gs/2) holds the group's element j in its low nibble and element
// gs/2 + j in its high nibble.
fn matvec_q4(f32[] out, u8[] w, f16[] w_s, i64 w_off, i8[] xq, f32[] xs, i64 rows, i64 cols, i64 gs) {
    var ng = cols / gs;
    var hg = gs / 2;        // bytes per group
    var hc = cols / 2;      // bytes per row
    var b_off = w_off / 2;  // the first row's first byte
    var s_off = w_off / gs; // the first row's first scale (rows start at multiples of gs)
    var i = 0;
    while (i < rows) {
        var row = b_off + i * hc;  // the row's first byte
        var srow = s_off + i * ng; // the row's first scale, without a division per row
        var s = 0.0;
        var g = 0;
        while (g < ng) {
            i32 isum = 0;
            var j = 0;
            while (j < hg) {
                var b = w[row + g * hg + j];
                isum += (xq[g * hg + j] as i32) * ((b & 15) as i32 - 8) +
                        (xq[hc + g * hg + j] as i32) * ((b >> 4) as i32 - 8);
                j = j + 1;
            }
            s += (isum as f32) * w_s[srow + g] * xs[g];
            g = g + 1;
        }
        out[i] = s;
        i = i + 1;
    }
}

// matmul_q4 runs the q4 rows from element w_off (rows of cols elements) against the quantized
// inputs (xq, xs) of the tokens, four tokens at a time: for token t = 4b + k of the nb blocks,
// y_k[i·nb + b] is matvec_q4's sum of row i for token t's input (xq from t·cols, xs from
// t·ng, ng = cols / gs). The four sums of a block are independent: side by side they share
// the row's loads, and none waits for another's last multiply-add, as one sum alone would for
// each of its groups. xq and xs hold 4·nb tokens (those past the prompt's are computed and not
// used).
fn matmul_q4(f32[] y0, f32[] y1, f32[] y2, f32[] y3, u8[] w, f16[] w_s, i64 w_off,
             i8[] xq, f32[] xs, i64 nb, i64 rows, i64 cols, i64 gs) {
    var ng = cols / gs;
    var hg = gs / 2;
    var hc = cols / 2;
    var b_off = w_off / 2;
    var s_off = w_off / gs;
    var i = 0;
    while (i < rows) {
        var row = b_off + i * hc;
        var srow = s_off + i * ng;
        var blk = 0;
        while (blk < nb) {
            var x0 = 4 * blk * cols; // the block's tokens' values
            var x1 = x0 + cols;
            var x2 = x1 + cols;
            var x3 = x2 + cols;
            var c0 = 4 * blk * ng;   // and scales
            var c1 = c0 + ng;
            var c2 = c1 + ng;
            var c3 = c2 + ng;
            var s0 = 0.0;
            var s1 = 0.0;
            var s2 = 0.0;
            var s3 = 0.0;
            var g = 0;
            while (g < ng) {
                i32 isum0 = 0;
                var j0 = 0;
                while (j0 < hg) {
                    var b0 = w[row + g * hg + j0];
                    isum0 += (xq[x0 + g * hg + j0] as i32) * ((b0 & 15) as i32 - 8) +
                             (xq[x0 + hc + g * hg + j0] as i32) * ((b0 >> 4) as i32 - 8);
                    j0 = j0 + 1;
                }
                s0 += (isum0 as f32) * w_s[srow + g] * xs[c0 + g];
                i32 isum1 = 0;
                var j1 = 0;
                while (j1 < hg) {
                    var b1 = w[row + g * hg + j1];
                    isum1 += (xq[x1 + g * hg + j1] as i32) * ((b1 & 15) as i32 - 8) +
                             (xq[x1 + hc + g * hg + j1] as i32) * ((b1 >> 4) as i32 - 8);
                    j1 = j1 + 1;
                }
                s1 += (isum1 as f32) * w_s[srow + g] * xs[c1 + g];
                i32 isum2 = 0;
                var j2 = 0;
                while (j2 < hg) {
                    var b2 = w[row + g * hg + j2];
                    isum2 += (xq[x2 + g * hg + j2] as i32) * ((b2 & 15) as i32 - 8) +
                             (xq[x2 + hc + g * hg + j2] as i32) * ((b2 >> 4) as i32 - 8);
                    j2 = j2 + 1;
                }
                s2 += (isum2 as f32) * w_s[srow + g] * xs[c2 + g];
                i32 isum3 = 0;
                var j3 = 0;
                while (j3 < hg) {
                    var b3 = w[row + g * hg + j3];
                    isum3 += (xq[x3 + g * hg + j3] as i32) * ((b3 & 15) as i32 - 8) +
                             (xq[x3 + hc + g * hg + j3] as i32) * ((b3 >> 4) as i32 - 8);
                    j3 = j3 + 1;
                }
                s3 += (isum3 as f32) * w_s[srow + g] * xs[c3 + g];
                g = g + 1;
            }
            y0[i * nb + blk] = s0;
            y1[i * nb + blk] = s1;
            y2[i * nb + blk] = s2;
            y3[i * nb + blk] = s3;
            blk = blk + 1;
        }
        i = i + 1;
    }
}

// to_tokens: out[t·rows + i] = y_k[i·nb + b] for t = 4b + k < m and i < rows: matmul_q4's
// results, one row per token.
fn to_tokens(f32[] out, f32[] y0, f32[] y1, f32[] y2, f32[] y3, i64 nb, i64 rows, i64 m) {
    var t = 0;
    while (t < m) {
        var b = t / 4;
        f32[] y = y0;
        if (t % 4 == 1) {
            y = y1;
        } else if (t % 4 == 2) {
            y = y2;
        } else if (t % 4 == 3) {
            y = y3;
        }
        var i = 0;
        while (i < rows) {
            out[t * rows + i] = y[i * nb + b];
            i = i + 1;
        }
        t = t + 1;
    }
}

// project_q4: out (m rows of rows elements) = the q4 rows from w_off times each of the m
// quantized inputs (xq, xs) of cols elements, through matmul_q4 (y0 … y3 its scratch).
fn project_q4(f32[] out, f32[] y0, f32[] y1, f32[] y2, f32[] y3, u8[] w, f16[] w_s, i64 w_off,
              i8[] xq, f32[] xs, i64 m, i64 rows, i64 cols, i64 gs) {
    var nb = (m + 3) / 4;
    matmul_q4(y0, y1, y2, y3, w, w_s, w_off, xq, xs, nb, rows, cols, gs);
    to_tokens(out, y0, y1, y2, y3, nb, rows, m);
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

// prefill_block_q4 runs layer l on the m rows of x (positions pos …): rmsnorm, q/k/v
// projections, rotary embedding, the rows' keys and values into the cache, attention, output
// projection, residual, then rmsnorm, SwiGLU feed-forward, down projection, residual. xq and
// xs (m rounded up to a multiple of 4, times max(dim, hidden_dim) values and one scale per
// group of them) hold each projection's quantized input, y0 … y3 (m/4 rounded up, times
// max(dim, hidden_dim)) its results.
fn prefill_block_q4(f32[] rms_att_w, f32[] rms_ffn_w,
                    u8[] wq, f16[] wq_s, u8[] wk, f16[] wk_s, u8[] wv, f16[] wv_s, u8[] wo, f16[] wo_s,
                    u8[] w1, f16[] w1_s, u8[] w2, f16[] w2_s, u8[] w3, f16[] w3_s,
                    f32[] x, f32[] xb, f32[] xb2, f32[] q, f32[] k, f32[] v, f32[] att,
                    f32[] hb, f32[] hb2, f32[] key_cache, f32[] value_cache, f32[] rope_cos, f32[] rope_sin,
                    i8[] xq, f32[] xs, f32[] y0, f32[] y1, f32[] y2, f32[] y3,
                    i64 l, i64 pos, i64 m, i64 dim, i64 hidden_dim, i64 n_heads, i64 n_kv_heads, i64 seq_len, i64 gs) {
    var head_size = dim / n_heads;
    var kv_dim = head_size * n_kv_heads;
    var h = hidden_dim;

    // attention: rmsnorm, q/k/v projections, rotary embedding
    rmsnorm_rows(xb, x, rms_att_w, l * dim, m, dim);
    quantize_split(xq, xs, xb, m, dim, gs);
    project_q4(q, y0, y1, y2, y3, wq, wq_s, l * dim * dim, xq, xs, m, dim, dim, gs);
    project_q4(k, y0, y1, y2, y3, wk, wk_s, l * kv_dim * dim, xq, xs, m, kv_dim, dim, gs);
    project_q4(v, y0, y1, y2, y3, wv, wv_s, l * kv_dim * dim, xq, xs, m, kv_dim, dim, gs);
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
    quantize_split(xq, xs, xb, m, dim, gs);
    project_q4(xb2, y0, y1, y2, y3, wo, wo_s, l * dim * dim, xq, xs, m, dim, dim, gs);
    add(x, xb2, m * dim);

    // feed-forward: rmsnorm, SwiGLU (silu(w1·x) · (w3·x)), down projection, residual
    rmsnorm_rows(xb, x, rms_ffn_w, l * dim, m, dim);
    quantize_split(xq, xs, xb, m, dim, gs);
    project_q4(hb, y0, y1, y2, y3, w1, w1_s, l * h * dim, xq, xs, m, h, dim, gs);
    project_q4(hb2, y0, y1, y2, y3, w3, w3_s, l * h * dim, xq, xs, m, h, dim, gs);
    swiglu(hb, hb2, m * h);
    quantize_split(xq, xs, hb, m, h, gs);
    project_q4(xb, y0, y1, y2, y3, w2, w2_s, l * dim * h, xq, xs, m, dim, h, gs);
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

    // each projection's input quantized, for the tokens rounded up to blocks of four, and its
    // results (matmul_q4)
    var nb = (n_tokens + 3) / 4;
    var n = max(dim, hidden_dim);
    var xq = array<i8>([4 * nb * n]);
    var xs = array<f32>([4 * nb * (n / gs)]);
    var y0 = array<f32>([nb * n]);
    var y1 = array<f32>([nb * n]);
    var y2 = array<f32>([nb * n]);
    var y3 = array<f32>([nb * n]);

    var l = 0;
    while (l < n_layers) {
        prefill_block_q4(rms_att_w, rms_ffn_w, wq, wq_s, wk, wk_s, wv, wv_s, wo, wo_s,
                         w1, w1_s, w2, w2_s, w3, w3_s,
                         x, xb, xb2, q, k, v, att, hb, hb2, key_cache, value_cache, rope_cos, rope_sin,
                         xq, xs, y0, y1, y2, y3, l, pos, n_tokens, dim, hidden_dim, n_heads, n_kv_heads, seq_len, gs);
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
    quantize_split(xq, xs, xb, 1, dim, gs);
    matvec_q4(logits, wcls, wcls_s, 0, xq, xs, vocab_size, dim, gs);
    return logits[0];
}
