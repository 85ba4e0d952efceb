// LLaMA 2 decode step in SimpLang on bf16 weights: the transformer of llama2.sl, one token
// at position pos, writing the next-token logits, with every weight matrix (token embedding,
// wq, wk, wv, wo, w1, w2, w3, classifier) in bfloat16 and all arithmetic in f32: reading a
// bf16 element widens it exactly to f32 (language §2.1). Written with plain loops.
//
// The tensors have llama2.sl's shapes and layout (row-major [out][in], layers stacked), one
// bf16 per element; this is package llama's QTensor (type BF16):
//   token_emb   [vocab_size][dim]          rms_att_w, rms_ffn_w [n_layers][dim] (f32)
//   wq, wo      [n_layers][dim][dim]       wk, wv [n_layers][kv_dim][dim]
//   w1, w3      [n_layers][hidden_dim][dim]
//   w2          [n_layers][dim][hidden_dim]
//   rms_final_w [dim] (f32)                wcls [vocab_size][dim]
// The norm weights, the run state and the KV cache are f32, as in llama2.sl.
//
// RoPE rotates with base theta (10000 for LLaMA 2, 500000 for LLaMA 3).
//
// Returns logits[0]. A token or position out of range (pos ≥ seq_len would write past the
// cache) returns NaN and touches nothing.

// matvec_bf16: out[i] = Σ_j w[w_off + i·cols + j] · x[j] for i < rows, each bf16 weight
// widened exactly to f32 and the sum in f32.
fn matvec_bf16(f32[] out, bf16[] w, i64 w_off, f32[] x, i64 rows, i64 cols) {
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

// The projections that read the same input run as one loop over the rows of all their
// matrices, so that each thread streams one long contiguous run of weights and a token
// starts fewer parallel loops (4 per layer instead of 7).

// matvec2_bf16: out1 = w1·x (rows1 rows from w1_off) and out2 = w2·x (rows2 rows from w2_off).
fn matvec2_bf16(f32[] out1, bf16[] w1, i64 w1_off, i64 rows1, f32[] out2, bf16[] w2, i64 w2_off, i64 rows2,
                f32[] x, i64 cols) {
    var i = 0;
    while (i < rows1 + rows2) {
        var s = 0.0;
        var j = 0;
        if (i < rows1) {
            var row = w1_off + i * cols;
            while (j < cols) {
                s += w1[row + j] * x[j];
                j = j + 1;
            }
            out1[i] = s;
        } else {
            var row = w2_off + (i - rows1) * cols;
            while (j < cols) {
                s += w2[row + j] * x[j];
                j = j + 1;
            }
            out2[i - rows1] = s;
        }
        i = i + 1;
    }
}

// qkv_bf16: q = wq·x (dim rows from q_off), k = wk·x and v = wv·x (kv_dim rows from kv_off).
fn qkv_bf16(f32[] q, bf16[] wq, i64 q_off, f32[] k, bf16[] wk, f32[] v, bf16[] wv, i64 kv_off,
            f32[] x, i64 dim, i64 kv_dim) {
    var i = 0;
    while (i < dim + 2 * kv_dim) {
        var s = 0.0;
        var j = 0;
        if (i < dim) {
            var row = q_off + i * dim;
            while (j < dim) {
                s += wq[row + j] * x[j];
                j = j + 1;
            }
            q[i] = s;
        } else if (i < dim + kv_dim) {
            var row = kv_off + (i - dim) * dim;
            while (j < dim) {
                s += wk[row + j] * x[j];
                j = j + 1;
            }
            k[i - dim] = s;
        } else {
            var row = kv_off + (i - dim - kv_dim) * dim;
            while (j < dim) {
                s += wv[row + j] * x[j];
                j = j + 1;
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

// transformer_block_bf16 runs layer l on the residual stream x at position pos: attention
// (rmsnorm, q/k/v projections, rotary embedding, cache update, multi-head attention, output
// projection, residual) then the feed-forward network (rmsnorm, SwiGLU, down projection,
// residual).
fn transformer_block_bf16(f32[] rms_att_w, f32[] rms_ffn_w,
                          bf16[] wq, bf16[] wk, bf16[] wv, bf16[] wo, bf16[] w1, bf16[] w2, bf16[] w3,
                          f32[] x, f32[] xb, f32[] xb2, f32[] q, f32[] k, f32[] v, f32[] att,
                          f32[] hb, f32[] hb2, f32[] key_cache, f32[] value_cache, f32[] rope_cos, f32[] rope_sin,
                          i64 l, i64 pos, i64 dim, i64 hidden_dim, i64 n_heads, i64 n_kv_heads, i64 seq_len) {
    var head_size = dim / n_heads;
    var kv_dim = head_size * n_kv_heads;

    // attention: rmsnorm, q/k/v projections, rotary embedding
    xb = rmsnorm(x, rms_att_w, xb, dim, 0.00001, l * dim);
    qkv_bf16(q, wq, l * dim * dim, k, wk, v, wv, l * kv_dim * dim, xb, dim, kv_dim);
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
    matvec_bf16(xb2, wo, l * dim * dim, xb, dim, dim);
    add(x, xb2, dim);

    // feed-forward: rmsnorm, SwiGLU (silu(w1·x) · (w3·x)), down projection, residual
    xb = rmsnorm(x, rms_ffn_w, xb, dim, 0.00001, l * dim);
    matvec2_bf16(hb, w1, l * hidden_dim * dim, hidden_dim, hb2, w3, l * hidden_dim * dim, hidden_dim, xb, dim);
    swiglu(hb, hb2, hidden_dim);
    matvec_bf16(xb, w2, l * dim * hidden_dim, hb, dim, hidden_dim);
    add(x, xb, dim);
}

fn llama2_bf16_forward(bf16[] token_emb, f32[] rms_att_w, f32[] rms_ffn_w,
                       bf16[] wq, bf16[] wk, bf16[] wv, bf16[] wo,
                       bf16[] w1, bf16[] w2, bf16[] w3,
                       f32[] rms_final_w, bf16[] wcls,
                       f32[] x, f32[] xb, f32[] xb2, f32[] q, f32[] k, f32[] v, f32[] att,
                       f32[] hb, f32[] hb2, f32[] logits, f32[] key_cache, f32[] value_cache,
                       i64 token, i64 pos, i64 dim, i64 hidden_dim, i64 n_layers, i64 n_heads,
                       i64 n_kv_heads, i64 vocab_size, i64 seq_len, f64 theta) -> f32 {
    if (token < 0 || token >= vocab_size || pos < 0 || pos >= seq_len) {
        var zero = 0.0;
        return zero / zero;
    }

    // token embedding, widened to f32
    var i = 0;
    while (i < dim) {
        x[i] = token_emb[token * dim + i];
        i = i + 1;
    }

    // this position's rotations (head_size / 2 of each), shared by all heads and layers
    var rope_cos = array<f32>([dim]);
    var rope_sin = array<f32>([dim]);
    rope_tables(rope_cos, rope_sin, pos, dim / n_heads, theta);

    var l = 0;
    while (l < n_layers) {
        transformer_block_bf16(rms_att_w, rms_ffn_w, wq, wk, wv, wo, w1, w2, w3,
                               x, xb, xb2, q, k, v, att, hb, hb2, key_cache, value_cache, rope_cos, rope_sin,
                               l, pos, dim, hidden_dim, n_heads, n_kv_heads, seq_len);
        l = l + 1;
    }

    // final rmsnorm and classifier
    x = rmsnorm(x, rms_final_w, x, dim, 0.00001);
    matvec_bf16(logits, wcls, 0, x, vocab_size, dim);
    return logits[0];
}
