// LLaMA 2 decode step in SimpLang on q4 weights: the transformer of llama2.sl, one token at
// position pos, writing the next-token logits, with every weight matrix (token embedding,
// wq, wk, wv, wo, w1, w2, w3, classifier) in 4 bits. Written with plain loops.
//
// A q4 tensor is the f32 tensor of the same shape (llama2.sl's layout: row-major [out][in],
// layers stacked) as two arrays: its values, two 4-bit values n in [0, 15] per u8, and its
// scales, one f16 per group of gs consecutive elements of a row (gs is even and divides dim
// and hidden_dim, so a group never spans two rows): element e is (n - 8) · w_s[e / gs]. A
// group's gs/2 bytes hold its first half in their low nibbles and its second half in their
// high nibbles: byte j of group g (w[g·gs/2 + j]) holds elements g·gs + j (low) and
// g·gs + gs/2 + j (high). This is package llama's QTensor (type Q4) and llama.cpp's q4_0 for
// gs = 32.
//   token_emb, token_emb_s [vocab_size][dim]   rms_att_w, rms_ffn_w [n_layers][dim]
//   wq, wo (and _s)        [n_layers][dim][dim]  wk, wv (and _s) [n_layers][kv_dim][dim]
//   w1, w3 (and _s)        [n_layers][hidden_dim][dim]
//   w2 (and _s)            [n_layers][dim][hidden_dim]
//   rms_final_w [dim]      wcls, wcls_s [vocab_size][dim]
// (the value arrays hold half as many bytes as the shape has elements, the scale arrays one
// f16 per group). The norm weights, the run state and the KV cache are f32, as in llama2.sl.
//
// Each mat-vec first quantizes its input vector per group of gs to i8 with one f32 scale
// (quantize_split); each group's dot product then sums in i32, the low nibbles against the
// group's first half and the high nibbles against its second half, and the row adds
// isum · w_scale · x_scale in f32, group by group: package llama's ForwardQ.
//
// RoPE rotates with base theta (10000 for LLaMA 2, 500000 for LLaMA 3).
//
// Returns logits[0]. A token or position out of range (pos ≥ seq_len would write past the
// cache), or a group size that is odd or does not divide dim and hidden_dim, returns NaN and
// touches nothing.

// quantize_split quantizes x (n elements, n a multiple of gs) per group of gs, as llama2.c's
// runq.c: group g's scale xs[g] = max|x| / 127 over the group, and each value is x / xs[g]
// rounded to the nearest integer, halves away from zero; an all-zero group has scale 0 and
// values 0. It writes the values split by halves of groups: group g's first half (the inputs
// of its weights' low nibbles) to xq[g·gs/2 + j] and its second half (the high nibbles') to
// xq[n/2 + g·gs/2 + j], so that a mat-vec reads the inputs of four groups' low nibbles, and
// of their high ones, as one run of bytes each instead of taking them apart on every row.
fn quantize_split(i8[] xq, f32[] xs, f32[] x, i64 n, i64 gs) {
    var ng = n / gs;
    var hg = gs / 2;
    var half = n / 2;
    var g = 0;
    while (g < ng) {
        var base = g * gs;
        var amax = 0.0;
        var j = 0;
        while (j < gs) {
            amax = max(amax, abs(x[base + j]));
            j = j + 1;
        }
        var scale = amax / 127.0;
        xs[g] = scale;
        // an all-zero group divides by 1 instead of 0, which gives its values 0
        var divisor = scale;
        if (scale == 0.0) {
            divisor = 1.0;
        }
        j = 0;
        while (j < hg) {
            // |x / scale| ≤ 127: exact i8s
            xq[g * hg + j] = round(x[base + j] / divisor);
            xq[half + g * hg + j] = round(x[base + hg + j] / divisor);
            j = j + 1;
        }
        g = g + 1;
    }
}

// matvec_q4: out[i] = Σ_g (Σ_j x_j · (n_j - 8)) · w_s[e/gs + g] · xs[g] with
// e = w_off + i·cols, n_j the 4-bit value of element e + g·gs + j and x_j the quantized input
// of element g·gs + j, for i < rows: the q4 rows from element w_off against the quantized input
// (xq, xs) of cols elements, split by halves of groups (quantize_split). Byte j of a group
// (gs/2 bytes from the row's byte e/2 + g·gs/2) holds the group's element j in its low nibble
// and element gs/2 + j in its high nibble, so one pass over the bytes covers both halves of
// the group.
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

// The projections that read the same input run as one loop over the rows of all their
// matrices, so that each thread streams one long contiguous run of weights and a token
// starts fewer parallel loops (4 per layer instead of 7).

// matvec2_q4: out1 = w1·x (rows1 rows from w1_off) and out2 = w2·x (rows2 rows from w2_off),
// x quantized as (xq, xs), as matvec_q4.
fn matvec2_q4(f32[] out1, u8[] w1, f16[] w1_s, i64 w1_off, i64 rows1,
              f32[] out2, u8[] w2, f16[] w2_s, i64 w2_off, i64 rows2,
              i8[] xq, f32[] xs, i64 cols, i64 gs) {
    var ng = cols / gs;
    var hg = gs / 2;
    var hc = cols / 2;
    var b1_off = w1_off / 2;
    var b2_off = w2_off / 2;
    var s1_off = w1_off / gs;
    var s2_off = w2_off / gs;
    var i = 0;
    while (i < rows1 + rows2) {
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
                    isum += (xq[g * hg + j] as i32) * ((b & 15) as i32 - 8) +
                            (xq[hc + g * hg + j] as i32) * ((b >> 4) as i32 - 8);
                    j = j + 1;
                }
                s += (isum as f32) * w1_s[srow + g] * xs[g];
                g = g + 1;
            }
            out1[i] = s;
        } else {
            var row = b2_off + (i - rows1) * hc;
            var srow = s2_off + (i - rows1) * ng;
            while (g < ng) {
                i32 isum = 0;
                var j = 0;
                while (j < hg) {
                    var b = w2[row + g * hg + j];
                    isum += (xq[g * hg + j] as i32) * ((b & 15) as i32 - 8) +
                            (xq[hc + g * hg + j] as i32) * ((b >> 4) as i32 - 8);
                    j = j + 1;
                }
                s += (isum as f32) * w2_s[srow + g] * xs[g];
                g = g + 1;
            }
            out2[i - rows1] = s;
        }
        i = i + 1;
    }
}

// qkv_q4: q = wq·x (dim rows from q_off), k = wk·x and v = wv·x (kv_dim rows from kv_off),
// x quantized as (xq, xs), as matvec_q4.
fn qkv_q4(f32[] q, u8[] wq, f16[] wq_s, i64 q_off, f32[] k, u8[] wk, f16[] wk_s,
          f32[] v, u8[] wv, f16[] wv_s, i64 kv_off, i8[] xq, f32[] xs, i64 dim, i64 kv_dim, i64 gs) {
    var ng = dim / gs;
    var hg = gs / 2;
    var hd = dim / 2;
    var bq_off = q_off / 2;
    var bkv_off = kv_off / 2;
    var sq_off = q_off / gs;
    var skv_off = kv_off / gs;
    var i = 0;
    while (i < dim + 2 * kv_dim) {
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
                    isum += (xq[g * hg + j] as i32) * ((b & 15) as i32 - 8) +
                            (xq[hd + g * hg + j] as i32) * ((b >> 4) as i32 - 8);
                    j = j + 1;
                }
                s += (isum as f32) * wq_s[srow + g] * xs[g];
                g = g + 1;
            }
            q[i] = s;
        } else if (i < dim + kv_dim) {
            var row = bkv_off + (i - dim) * hd;
            var srow = skv_off + (i - dim) * ng;
            while (g < ng) {
                i32 isum = 0;
                var j = 0;
                while (j < hg) {
                    var b = wk[row + g * hg + j];
                    isum += (xq[g * hg + j] as i32) * ((b & 15) as i32 - 8) +
                            (xq[hd + g * hg + j] as i32) * ((b >> 4) as i32 - 8);
                    j = j + 1;
                }
                s += (isum as f32) * wk_s[srow + g] * xs[g];
                g = g + 1;
            }
            k[i - dim] = s;
        } else {
            var row = bkv_off + (i - dim - kv_dim) * hd;
            var srow = skv_off + (i - dim - kv_dim) * ng;
            while (g < ng) {
                i32 isum = 0;
                var j = 0;
                while (j < hg) {
                    var b = wv[row + g * hg + j];
                    isum += (xq[g * hg + j] as i32) * ((b & 15) as i32 - 8) +
                            (xq[hd + g * hg + j] as i32) * ((b >> 4) as i32 - 8);
                    j = j + 1;
                }
                s += (isum as f32) * wv_s[srow + g] * xs[g];
                g = g + 1;
            }
            v[i - dim - kv_dim] = s;
        }
        i = i + 1;
    }
}

// rope_tables fills cos_t and sin_t with the rotations of the pairs of a head at position
// pos: pair p turns by the angle pos / theta^(2p/head_size), computed in f64. They are the
// same for every head and layer, so they are computed once per token.
fn rope_tables(f32[] cos_t, f32[] sin_t, i64 pos, i64 head_size, f64 theta) {
    var p = 0;
    while (p < head_size / 2) {
        var freq = 1.0 / pow(theta, ((2 * p) as f64) / (head_size as f64));
        var angle = (pos as f64) * freq;
        cos_t[p] = cos(angle);
        sin_t[p] = sin(angle);
        p = p + 1;
    }
}

// rope rotates each pair (2p, 2p+1) inside every head of q (dim) and k (kv_dim) by the
// rotations of rope_tables.
fn rope(f32[] q, f32[] k, f32[] cos_t, f32[] sin_t, i64 dim, i64 kv_dim, i64 head_size) {
    rotate_heads(q, cos_t, sin_t, dim, head_size);
    rotate_heads(k, cos_t, sin_t, kv_dim, head_size);
}

// rotate_heads rotates the pairs of each head of v (n elements) by the rotations of
// rope_tables, head by head: a pair's rotation then comes from its place in the head, not
// from a remainder on every pair, which kept the loop from vectorizing (125M q8, the serial
// stretch from the q/k/v projections to the attention, rotation and cache copy: 7.3 µs a
// layer before, 2.2 after).
fn rotate_heads(f32[] v, f32[] cos_t, f32[] sin_t, i64 n, i64 head_size) {
    var h = 0;
    while (h < n / head_size) {
        var base = h * head_size;
        var p = 0;
        while (p < head_size / 2) {
            var c = cos_t[p];
            var s = sin_t[p];
            var v0 = v[base + 2 * p];
            var v1 = v[base + 2 * p + 1];
            v[base + 2 * p] = v0 * c - v1 * s;
            v[base + 2 * p + 1] = v0 * s + v1 * c;
            p = p + 1;
        }
        h = h + 1;
    }
}

// attention: for every head, scores of q against the cached keys of positions 0..pos
// (scaled by 1/sqrt(head_size)), softmax, then the weighted sum of the cached values into
// out. Query heads share key/value heads in groups of n_heads / n_kv_heads. Head h keeps its
// pos + 1 scores at att[h·(pos + 1)] (att holds n_heads·seq_len) and the softmax is written
// out, so that the heads are independent: they run in parallel once there are enough
// positions.
fn attention(f32[] out, f32[] q, f32[] att, f32[] key_cache, f32[] value_cache, i64 layer_off,
             i64 pos, i64 n_heads, i64 n_kv_heads, i64 head_size, i64 seq_len) {
    var kv_mul = n_heads / n_kv_heads;
    var scale = 1.0 / sqrt(head_size as f32);
    var n = pos + 1;
    var h = 0;
    while (h < n_heads) {
        var qo = h * head_size;
        var ao = h * n;
        var kvo = (h / kv_mul) * seq_len * head_size; // its key/value head's run of positions
        f32 highest = -3.4e38; // below any score
        var t = 0;
        while (t < n) {
            var ko = layer_off + kvo + t * head_size;
            var score = 0.0;
            var d = 0;
            while (d < head_size) {
                score += q[qo + d] * key_cache[ko + d];
                d = d + 1;
            }
            att[ao + t] = score * scale;
            highest = max(highest, score * scale);
            t = t + 1;
        }
        // softmax: exp(score - highest), normalised below
        var sum = 0.0;
        t = 0;
        while (t < n) {
            var e = exp(att[ao + t] - highest);
            att[ao + t] = e;
            sum += e;
            t = t + 1;
        }
        var d = 0;
        while (d < head_size) {
            out[qo + d] = 0.0;
            d = d + 1;
        }
        t = 0;
        while (t < n) {
            var vo = layer_off + kvo + t * head_size;
            var a = att[ao + t] / sum;
            d = 0;
            while (d < head_size) {
                out[qo + d] += a * value_cache[vo + d];
                d = d + 1;
            }
            t = t + 1;
        }
        h = h + 1;
    }
}

// add: x[i] += y[i] (the residual connections).
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

// transformer_block_q4 runs layer l on the residual stream x at position pos: attention
// (rmsnorm, q/k/v projections, rotary embedding, cache update, multi-head attention, output
// projection, residual) then the feed-forward network (rmsnorm, SwiGLU, down projection,
// residual). xq and xs (max(dim, hidden_dim) elements) hold each mat-vec's quantized input.
fn transformer_block_q4(f32[] rms_att_w, f32[] rms_ffn_w,
                        u8[] wq, f16[] wq_s, u8[] wk, f16[] wk_s, u8[] wv, f16[] wv_s, u8[] wo, f16[] wo_s,
                        u8[] w1, f16[] w1_s, u8[] w2, f16[] w2_s, u8[] w3, f16[] w3_s,
                        f32[] x, f32[] xb, f32[] xb2, f32[] q, f32[] k, f32[] v, f32[] att,
                        f32[] hb, f32[] hb2, f32[] key_cache, f32[] value_cache, f32[] rope_cos, f32[] rope_sin,
                        i8[] xq, f32[] xs,
                        i64 l, i64 pos, i64 dim, i64 hidden_dim, i64 n_heads, i64 n_kv_heads, i64 seq_len, i64 gs) {
    var head_size = dim / n_heads;
    var kv_dim = head_size * n_kv_heads;

    // attention: rmsnorm, q/k/v projections, rotary embedding
    xb = rmsnorm(x, rms_att_w, xb, dim, 0.00001, l * dim);
    quantize_split(xq, xs, xb, dim, gs);
    qkv_q4(q, wq, wq_s, l * dim * dim, k, wk, wk_s, v, wv, wv_s, l * kv_dim * dim, xq, xs, dim, kv_dim, gs);
    rope(q, k, rope_cos, rope_sin, dim, kv_dim, head_size);

    // this position's key and value into the cache
    var layer_off = l * seq_len * kv_dim;
    var kh = 0;
    while (kh < n_kv_heads) {
        var co = layer_off + (kh * seq_len + pos) * head_size;
        var d = 0;
        while (d < head_size) {
            key_cache[co + d] = k[kh * head_size + d];
            value_cache[co + d] = v[kh * head_size + d];
            d = d + 1;
        }
        kh = kh + 1;
    }

    // multi-head attention over positions 0..pos, output projection, residual
    attention(xb, q, att, key_cache, value_cache, layer_off, pos, n_heads, n_kv_heads, head_size, seq_len);
    quantize_split(xq, xs, xb, dim, gs);
    matvec_q4(xb2, wo, wo_s, l * dim * dim, xq, xs, dim, dim, gs);
    add(x, xb2, dim);

    // feed-forward: rmsnorm, SwiGLU (silu(w1·x) · (w3·x)), down projection, residual
    xb = rmsnorm(x, rms_ffn_w, xb, dim, 0.00001, l * dim);
    quantize_split(xq, xs, xb, dim, gs);
    matvec2_q4(hb, w1, w1_s, l * hidden_dim * dim, hidden_dim, hb2, w3, w3_s, l * hidden_dim * dim, hidden_dim,
               xq, xs, dim, gs);
    swiglu(hb, hb2, hidden_dim);
    quantize_split(xq, xs, hb, hidden_dim, gs);
    matvec_q4(xb, w2, w2_s, l * dim * hidden_dim, xq, xs, dim, hidden_dim, gs);
    add(x, xb, dim);
}

fn llama2_q4_forward(u8[] token_emb, f16[] token_emb_s, f32[] rms_att_w, f32[] rms_ffn_w,
                     u8[] wq, f16[] wq_s, u8[] wk, f16[] wk_s, u8[] wv, f16[] wv_s, u8[] wo, f16[] wo_s,
                     u8[] w1, f16[] w1_s, u8[] w2, f16[] w2_s, u8[] w3, f16[] w3_s,
                     f32[] rms_final_w, u8[] wcls, f16[] wcls_s,
                     f32[] x, f32[] xb, f32[] xb2, f32[] q, f32[] k, f32[] v, f32[] att,
                     f32[] hb, f32[] hb2, f32[] logits, f32[] key_cache, f32[] value_cache,
                     i64 token, i64 pos, i64 dim, i64 hidden_dim, i64 n_layers, i64 n_heads,
                     i64 n_kv_heads, i64 vocab_size, i64 seq_len, i64 gs, f64 theta) -> f32 {
    if (token < 0 || token >= vocab_size || pos < 0 || pos >= seq_len ||
        gs <= 0 || gs % 2 != 0 || dim % gs != 0 || hidden_dim % gs != 0) {
        var zero = 0.0;
        return zero / zero;
    }

    // token embedding, dequantized: the token's row, group by group
    var hg = gs / 2;
    var g = 0;
    while (g < dim / gs) {
        var e = token * dim + g * gs; // the group's first element
        var scale = token_emb_s[e / gs];
        var j = 0;
        while (j < hg) {
            var b = token_emb[e / 2 + j];
            x[g * gs + j] = (((b & 15) as i32 - 8) as f32) * scale;
            x[g * gs + hg + j] = (((b >> 4) as i32 - 8) as f32) * scale;
            j = j + 1;
        }
        g = g + 1;
    }

    // this position's rotations (head_size / 2 of each), shared by all heads and layers
    var rope_cos = array<f32>([dim]);
    var rope_sin = array<f32>([dim]);
    rope_tables(rope_cos, rope_sin, pos, dim / n_heads, theta);

    // each mat-vec's input, quantized: values and one scale per group (at most n / gs are used)
    var xq = array<i8>([max(dim, hidden_dim)]);
    var xs = array<f32>([max(dim, hidden_dim)]);

    var l = 0;
    while (l < n_layers) {
        transformer_block_q4(rms_att_w, rms_ffn_w, wq, wq_s, wk, wk_s, wv, wv_s, wo, wo_s,
                             w1, w1_s, w2, w2_s, w3, w3_s,
                             x, xb, xb2, q, k, v, att, hb, hb2, key_cache, value_cache, rope_cos, rope_sin,
                             xq, xs, l, pos, dim, hidden_dim, n_heads, n_kv_heads, seq_len, gs);
        l = l + 1;
    }

    // final rmsnorm and classifier
    x = rmsnorm(x, rms_final_w, x, dim, 0.00001);
    quantize_split(xq, xs, x, dim, gs);
    matvec_q4(logits, wcls, wcls_s, 0, xq, xs, vocab_size, dim, gs);
    return logits[0];
}
