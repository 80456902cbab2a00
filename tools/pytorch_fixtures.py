# PyTorch fixtures for test/pytorch.test.ts: small seeded inputs, weights and PyTorch's outputs
# for multi-head attention, the seq2seq tutorial's Bahdanau attention, Luong attention, RoPE and
# causal scaled dot-product attention, written as JSON to test/fixtures/ (committed; the test
# reads them and needs no Python). And for test/pytorch-variants.test.ts, variants.json: the
# attention variants of scaledDotProductAttention (soft-capping, ALiBi, T5 relative bias,
# attn_mask, sliding window, grouped-query, combined), computed literally in float64 and
# cross-checked against PyTorch's own ops and the models' code (section 6). transformer-masks.json:
# nn.TransformerEncoderLayer / Encoder / DecoderLayer with src_mask, key padding masks (right and
# left), float masks and batch_first=False (section 7); norms.json: F.layer_norm and the
# activations (section 8).
#
# Regenerate (Debian's torch 1.13; the `python3` first on PATH may have no torch):
#   apt-get install -y python3-torch
#   /usr/bin/python3 tools/pytorch_fixtures.py
#
# Every tensor is stored as {"shape": [...], "data": [flat, row-major]}, float32 values printed
# with 9 significant digits (enough to round-trip a float32 exactly); variants.json, to stay small,
# has inputs generated with 2 decimals (exact float32 values, written short) and expected values
# rounded to 8 decimals.
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from seq2seq_tutorial import BahdanauAttention

OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures'))
SEED = 0


def t(x):
    x = x.detach().to(torch.float32).contiguous()
    return {'shape': list(x.shape), 'data': [float(f'{v:.9g}') for v in x.flatten().tolist()]}


def write(name, fixture):
    fixture = {'generator': f'tools/pytorch_fixtures.py (torch {torch.__version__}, seed {SEED})', **fixture}
    path = os.path.join(OUT, name)
    with open(path, 'w') as f:
        json.dump(fixture, f, separators=(',', ':'))
        f.write('\n')
    print(f'{os.path.relpath(path)}: {os.path.getsize(path)} bytes')


def state(module):
    return {k: t(v) for k, v in module.state_dict().items()}


# 1. torch.nn.MultiheadAttention ---------------------------------------------------------------
def mha_fixture():
    E, heads, B, L = 16, 4, 2, 5
    mha = nn.MultiheadAttention(E, heads, bias=True, batch_first=True).eval()
    with torch.no_grad():  # the biases start at zero: give them values so they are checked too
        mha.in_proj_bias.uniform_(-0.5, 0.5)
        mha.out_proj.bias.uniform_(-0.5, 0.5)
    x = torch.randn(B, L, E)
    query, memory = torch.randn(B, 3, E), torch.randn(B, 6, E)
    lengths = [5, 3]
    causal = torch.triu(torch.ones(L, L, dtype=torch.bool), 1)
    padding = torch.arange(L)[None, :] >= torch.tensor(lengths)[:, None]  # True = ignore
    cases = {}
    # Under no_grad in eval mode, 'self' and 'keyPadding' take PyTorch's fused fast path
    # (torch._native_multi_head_attention); 'causal' (attn_mask) and 'cross' the Python one.
    with torch.no_grad():
        for name, args, kwargs, opts in [
            ('self', (x, x, x), {}, {}),
            ('causal', (x, x, x), {'attn_mask': causal}, {'causal': True}),
            ('keyPadding', (x, x, x), {'key_padding_mask': padding}, {'keyLengths': lengths}),
            ('cross', (query, memory, memory), {}, {}),
        ]:
            out, w = mha(*args, need_weights=True, average_attn_weights=True, **kwargs)
            cases[name] = {'options': opts, 'output': t(out), 'weights': t(w)}
    write('mha.json', {'embedDim': E, 'numHeads': heads, 'weights': state(mha),
                       'x': t(x), 'query': t(query), 'memory': t(memory), 'cases': cases})


# 2. The PyTorch seq2seq tutorial's BahdanauAttention (verbatim) -------------------------------
def bahdanau_fixture():
    H, B, S = 8, 2, 7
    att = BahdanauAttention(H).eval()
    query, keys = torch.randn(B, 1, H), torch.randn(B, S, H)
    with torch.no_grad():
        context, weights = att(query, keys)
        scores = att.Va(torch.tanh(att.Wa(query) + att.Ua(keys))).squeeze(2).unsqueeze(1)
    write('bahdanau.json', {'stateDict': state(att), 'query': t(query), 'keys': t(keys),
                            'scores': t(scores), 'weights': t(weights), 'context': t(context)})


# 3. Luong attention with plain torch ops -------------------------------------------------------
def luong_fixture():
    H, B, S = 6, 2, 5
    lengths = [5, 3]
    s = 1 / math.sqrt(H)
    u = lambda *shape, scale=s: (torch.rand(*shape) * 2 - 1) * scale
    w = {'W': u(H, H), 'Wa': u(H, 2 * H), 'ba': u(H), 'va': u(H, scale=1.0), 'Wc': u(H, 2 * H), 'bc': u(H)}
    h, hs = torch.randn(B, H), torch.randn(B, S, H)
    pad = torch.arange(S)[None, :] >= torch.tensor(lengths)[:, None]
    scores = {
        'dot': torch.einsum('bh,bsh->bs', h, hs),
        'general': torch.einsum('bh,bsh->bs', h, hs @ w['W'].T),
        'concat': torch.tanh(torch.cat([h[:, None, :].expand(B, S, H), hs], -1) @ w['Wa'].T + w['ba']) @ w['va'],
    }
    cases = {}
    for name, sc in scores.items():
        weights = torch.softmax(sc.masked_fill(pad, float('-inf')), -1)
        context = torch.bmm(weights[:, None, :], hs)[:, 0]
        attentional = torch.tanh(torch.cat([context, h], -1) @ w['Wc'].T + w['bc'])
        cases[name] = {'scores': t(sc), 'weights': t(weights), 'context': t(context), 'attentional': t(attentional)}
    write('luong.json', {'lengths': lengths, 'weights': {k: t(v) for k, v in w.items()},
                         'h': t(h), 'hs': t(hs), 'cases': cases})


# 4. RoPE, both styles, in float64 ------------------------------------------------------------
def rotate_half(x):  # Hugging Face LLaMA
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rotate_every_two(x):  # GPT-J / RoFormer: pairs (2i, 2i+1)
    x1, x2 = x[..., ::2], x[..., 1::2]
    return torch.stack((-x2, x1), dim=-1).flatten(-2)


def rope_fixture():
    B, L, D, offset, base = 2, 7, 8, 3, 10000.0
    x = torch.randn(B, L, D)
    x64 = x.double()
    inv_freq = 1.0 / (base ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
    freqs = torch.outer(torch.arange(offset, offset + L, dtype=torch.float64), inv_freq)  # [L, D/2]
    emb = torch.cat((freqs, freqs), dim=-1)  # [L, D]
    half = x64 * emb.cos() + rotate_half(x64) * emb.sin()
    pairs = freqs.repeat_interleave(2, dim=-1)
    interleaved = x64 * pairs.cos() + rotate_every_two(x64) * pairs.sin()
    write('rope.json', {'offset': offset, 'base': base, 'x': t(x), 'half': t(half), 'interleaved': t(interleaved)})


# 5. Causal scaled dot-product attention, bottom-right aligned, in float64 ---------------------
def sdpa_fixture():
    q, k, v = torch.randn(1, 2, 5, 8), torch.randn(1, 2, 9, 8), torch.randn(1, 2, 9, 8)
    Lq, Lk, D = q.shape[-2], k.shape[-2], q.shape[-1]
    visible = torch.arange(Lk)[None, :] <= torch.arange(Lq)[:, None] + (Lk - Lq)
    scores = (q.double() @ k.double().transpose(-2, -1)) / math.sqrt(D)
    weights = torch.softmax(scores.masked_fill(~visible, float('-inf')), -1)
    write('sdpa.json', {'q': t(q), 'k': t(k), 'v': t(v), 'weights': t(weights), 'output': t(weights @ v.double())})


# 6. Attention variants, in float64 ------------------------------------------------------------
# Soft-capping, ALiBi, T5's relative position bias, attn_mask (bool and float), sliding windows
# (flash-attn's window_size) and grouped-query attention, alone and combined, as
# runtime.scaledDotProductAttention(q, k, v, options) takes them (test/pytorch-variants.test.ts).
# Per (batch b, head h, query i, key j), with pos(i) = i + Lk - Lq (bottom-right aligned):
#   s = q·k·scale; s = c·tanh(s/c) (softcap); s -= slope[h]·|j - pos(i)| (alibi);
#   s += table[bucket(j - pos(i)), h] (relativeBias); s += mask (float attnMask);
#   key j hidden by causal (j > pos(i)), window [left, right] (j < pos(i) - left or
#   j > pos(i) + right, -1 = unbounded), keyLengths (j >= keyLengths[b]) or a false bool mask;
#   kv head of query head h: h // (H / Hk); softmax over the visible keys, zeros when none.

# BLOOM's ALiBi tensor, verbatim from Hugging Face transformers (models/bloom/modeling_bloom.py;
# docstring shortened). Used by the cross-check only.
def build_alibi_tensor(attention_mask: torch.Tensor, num_heads: int, dtype: torch.dtype) -> torch.Tensor:
    """Returns tensor shaped (batch_size * num_heads, 1, max_seq_len): slope[h] * key position."""
    batch_size, seq_length = attention_mask.shape
    closest_power_of_2 = 2 ** math.floor(math.log2(num_heads))
    base = torch.tensor(
        2 ** (-(2 ** -(math.log2(closest_power_of_2) - 3))), device=attention_mask.device, dtype=torch.float32
    )
    powers = torch.arange(1, 1 + closest_power_of_2, device=attention_mask.device, dtype=torch.int32)
    slopes = torch.pow(base, powers)

    if closest_power_of_2 != num_heads:
        extra_base = torch.tensor(
            2 ** (-(2 ** -(math.log2(2 * closest_power_of_2) - 3))), device=attention_mask.device, dtype=torch.float32
        )
        num_remaining_heads = min(closest_power_of_2, num_heads - closest_power_of_2)
        extra_powers = torch.arange(1, 1 + 2 * num_remaining_heads, 2, device=attention_mask.device, dtype=torch.int32)
        slopes = torch.cat([slopes, torch.pow(extra_base, extra_powers)], dim=0)

    # Note: alibi will added to the attention bias that will be applied to the query, key product of attention
    # => therefore alibi will have to be of shape (batch_size, num_heads, query_length, key_length)
    # => here we set (batch_size=1, num_heads=num_heads, query_length=1, key_length=max_length)
    # => the query_length dimension will then be broadcasted correctly
    # This is more or less identical to T5's relative position bias:
    # https://github.com/huggingface/transformers/blob/f681437203baa7671de3174b0fa583c349d9d5e1/src/transformers/models/t5/modeling_t5.py#L527
    arange_tensor = ((attention_mask.cumsum(dim=-1) - 1) * attention_mask)[:, None, :]
    alibi = slopes[..., None] * arange_tensor
    return alibi.reshape(batch_size * num_heads, 1, seq_length).to(dtype)


def alibi_slopes(num_heads):
    """The standard ALiBi slopes of `alibi: true`: the slope lines of BLOOM's build_alibi_tensor
    above, verbatim (attention_mask.device replaced by device = None, the CPU). float32."""
    device = None
    closest_power_of_2 = 2 ** math.floor(math.log2(num_heads))
    base = torch.tensor(
        2 ** (-(2 ** -(math.log2(closest_power_of_2) - 3))), device=device, dtype=torch.float32
    )
    powers = torch.arange(1, 1 + closest_power_of_2, device=device, dtype=torch.int32)
    slopes = torch.pow(base, powers)

    if closest_power_of_2 != num_heads:
        extra_base = torch.tensor(
            2 ** (-(2 ** -(math.log2(2 * closest_power_of_2) - 3))), device=device, dtype=torch.float32
        )
        num_remaining_heads = min(closest_power_of_2, num_heads - closest_power_of_2)
        extra_powers = torch.arange(1, 1 + 2 * num_remaining_heads, 2, device=device, dtype=torch.int32)
        slopes = torch.cat([slopes, torch.pow(extra_base, extra_powers)], dim=0)
    return slopes


# The ALiBi paper's own slopes (ofirpress/attention_with_linear_biases, fairseq transformer.py),
# verbatim: a second source for alibi_slopes.
def get_slopes(n):
    def get_slopes_power_of_2(n):
        start = (2**(-2**-(math.log2(n)-3)))
        ratio = start
        return [start*ratio**i for i in range(n)]

    if math.log2(n).is_integer():
        return get_slopes_power_of_2(n)                   #In the paper, we only train models that have 2^a heads for some a. This function has
    else:                                                 #some good properties that only occur when the input is a power of 2. To maintain that even
        closest_power_of_2 = 2**math.floor(math.log2(n))  #when the number of heads is not a power of 2, we use this workaround.
        return get_slopes_power_of_2(closest_power_of_2) + get_slopes(2*closest_power_of_2)[0::2][:n-closest_power_of_2]


# T5's relative position buckets, verbatim from Hugging Face transformers
# (models/t5/modeling_t5.py, T5Attention._relative_position_bucket, a staticmethod there).
def _relative_position_bucket(relative_position, bidirectional=True, num_buckets=32, max_distance=128):
    """
    Adapted from Mesh Tensorflow:
    https://github.com/tensorflow/mesh/blob/0cb87fe07da627bf0b7e60475d59f95ed6b5be3d/mesh_tensorflow/transformer/transformer_layers.py#L593

    Translate relative position to a bucket number for relative attention. The relative position is defined as
    memory_position - query_position, i.e. the distance in tokens from the attending position to the attended-to
    position. If bidirectional=False, then positive relative positions are invalid. We use smaller buckets for
    small absolute relative_position and larger buckets for larger absolute relative_positions. All relative
    positions >=max_distance map to the same bucket. All relative positions <=-max_distance map to the same bucket.
    This should allow for more graceful generalization to longer sequences than the model has been trained on

    Args:
        relative_position: an int32 Tensor
        bidirectional: a boolean - whether the attention is bidirectional
        num_buckets: an integer
        max_distance: an integer

    Returns:
        a Tensor with the same shape as relative_position, containing int32 values in the range [0, num_buckets)
    """
    relative_buckets = 0
    if bidirectional:
        num_buckets //= 2
        relative_buckets += (relative_position > 0).to(torch.long) * num_buckets
        relative_position = torch.abs(relative_position)
    else:
        relative_position = -torch.min(relative_position, torch.zeros_like(relative_position))
    # now relative_position is in the range [0, inf)

    # half of the buckets are for exact increments in positions
    max_exact = num_buckets // 2
    is_small = relative_position < max_exact

    # The other half of the buckets are for logarithmically bigger bins in positions up to max_distance
    relative_position_if_large = max_exact + (
        torch.log(relative_position.float() / max_exact)
        / math.log(max_distance / max_exact)
        * (num_buckets - max_exact)
    ).to(torch.long)
    relative_position_if_large = torch.min(
        relative_position_if_large, torch.full_like(relative_position_if_large, num_buckets - 1)
    )

    relative_buckets += torch.where(is_small, relative_position, relative_position_if_large)
    return relative_buckets


class T5RelativeBias(nn.Module):
    """Just enough of T5Attention for its compute_bias (the cross-check): the bucket function above
    and compute_bias verbatim from Hugging Face transformers (cache_position: the positions of the
    queries, here the last Lq of Lk)."""

    def __init__(self, table, num_buckets, max_distance, bidirectional):
        super().__init__()
        self.is_decoder = not bidirectional
        self.relative_attention_num_buckets = num_buckets
        self.relative_attention_max_distance = max_distance
        self.relative_attention_bias = nn.Embedding.from_pretrained(table, freeze=True)

    _relative_position_bucket = staticmethod(_relative_position_bucket)

    def compute_bias(self, query_length, key_length, device=None, cache_position=None):
        """Compute binned relative position bias"""
        if device is None:
            device = self.relative_attention_bias.weight.device
        if cache_position is None:
            context_position = torch.arange(query_length, dtype=torch.long, device=device)[:, None]
        else:
            context_position = cache_position[:, None].to(device)
        memory_position = torch.arange(key_length, dtype=torch.long, device=device)[None, :]
        relative_position = memory_position - context_position  # shape (query_length, key_length)
        relative_position_bucket = self._relative_position_bucket(
            relative_position,  # shape (query_length, key_length)
            bidirectional=(not self.is_decoder),
            num_buckets=self.relative_attention_num_buckets,
            max_distance=self.relative_attention_max_distance,
        )
        values = self.relative_attention_bias(relative_position_bucket)  # shape (query_length, key_length, num_heads)
        values = values.permute([2, 0, 1]).unsqueeze(0)  # shape (1, num_heads, query_length, key_length)
        return values


# flash-attn's reference sliding-window mask (tests/test_flash_attn.py, construct_local_mask),
# with einops' rearrange(x, "s -> s 1") written x[:, None] and rearrange(x, "b -> b 1 1 1")
# x[:, None, None, None]. True = hidden. window_size = (left, right), both >= 0 here (flash-attn's
# mha_fwd turns a -1 into seqlen_k before its kernel sees it; the cross-check does the same).
def construct_local_mask(
    seqlen_q,
    seqlen_k,
    window_size=(-1, -1),  # -1 means infinite window size
    query_padding_mask=None,
    key_padding_mask=None,
    device=None,
):
    row_idx = torch.arange(seqlen_q, device=device, dtype=torch.long)[:, None]
    col_idx = torch.arange(seqlen_k, device=device, dtype=torch.long)
    sk = (
        seqlen_k
        if key_padding_mask is None
        else key_padding_mask.sum(-1)[:, None, None, None]
    )
    sq = (
        seqlen_q
        if query_padding_mask is None
        else query_padding_mask.sum(-1)[:, None, None, None]
    )
    if window_size[0] < 0:
        return col_idx > row_idx + sk - sq + window_size[1]
    else:
        sk = torch.full_like(col_idx, seqlen_k) if key_padding_mask is None else sk
        return torch.logical_or(
            col_idx > torch.minimum(row_idx + sk - sq + window_size[1], sk),
            col_idx < row_idx + sk - sq - window_size[0],
        )


def variant_attention(q, k, v, causal=False, keyLengths=None, scale=None, softcap=None, alibi=None,
                      relativeBias=None, attnMask=None, window=None):
    """The semantics above, literally: one (b, h, i, j) at a time in float64, an explicit boolean
    visibility, softmax over the visible keys, rows that see no key set to zero after it.
    q [B, H, Lq, D], k [B, Hk, Lk, D], v [B, Hk, Lk, Dv]; alibi True or a tensor of H slopes;
    relativeBias {'table': [numBuckets, H], 'numBuckets', 'maxDistance', 'bidirectional'};
    attnMask a bool (True = may attend) or float tensor broadcastable to [B, H, Lq, Lk]."""
    q, k, v = q.double(), k.double(), v.double()
    B, H, Lq, D = q.shape
    Hk, Lk, Dv = k.shape[1], k.shape[2], v.shape[3]
    assert k.shape == (B, Hk, Lk, D) and v.shape == (B, Hk, Lk, Dv) and H % Hk == 0
    group = H // Hk
    scale = 1 / math.sqrt(D) if scale is None else scale
    slopes = None if alibi is None else (alibi_slopes(H) if alibi is True else alibi).double()
    if relativeBias is not None:
        table = relativeBias['table'].double()
        relative_position = torch.tensor([[j - (i + Lk - Lq) for j in range(Lk)] for i in range(Lq)], dtype=torch.long)
        bucket = _relative_position_bucket(relative_position, bidirectional=relativeBias['bidirectional'],
                                           num_buckets=relativeBias['numBuckets'], max_distance=relativeBias['maxDistance'])
    mask = None if attnMask is None else attnMask.expand(B, H, Lq, Lk)
    scores = torch.zeros(B, H, Lq, Lk, dtype=torch.float64)
    visible = torch.zeros(B, H, Lq, Lk, dtype=torch.bool)
    for b in range(B):
        for h in range(H):
            kh = h // group
            for i in range(Lq):
                pos = i + Lk - Lq
                for j in range(Lk):
                    s = torch.dot(q[b, h, i], k[b, kh, j]) * scale
                    if softcap is not None:
                        s = softcap * torch.tanh(s / softcap)
                    if slopes is not None:
                        s = s - slopes[h] * abs(j - pos)
                    if relativeBias is not None:
                        s = s + table[bucket[i, j], h]
                    if mask is not None and mask.dtype != torch.bool:
                        s = s + mask[b, h, i, j]
                    seen = True
                    if causal and j > pos:
                        seen = False
                    if window is not None:
                        left, right = window
                        if left >= 0 and j < pos - left:
                            seen = False
                        if right >= 0 and j > pos + right:
                            seen = False
                    if keyLengths is not None and j >= keyLengths[b]:
                        seen = False
                    if mask is not None and mask.dtype == torch.bool and not mask[b, h, i, j]:
                        seen = False
                    scores[b, h, i, j] = s
                    visible[b, h, i, j] = seen
    weights = torch.softmax(scores.masked_fill(~visible, float('-inf')), dim=-1)
    weights[~visible.any(-1)] = 0  # no visible key: NaN from the softmax, zeros by our rule
    v_per_head = torch.stack([v[:, h // group] for h in range(H)], dim=1)
    return weights @ v_per_head, weights, visible


def pytorch_attention(q, k, v, causal=False, keyLengths=None, scale=None, softcap=None, alibi=None,
                      relativeBias=None, attnMask=None, window=None):
    """The same with PyTorch's (and the models') own ops, as a cross-check: repeat_interleave for
    grouped-query, BLOOM's slopes, T5's compute_bias, torch.triu for causal, flash-attn's
    construct_local_mask, everything hidden as -inf in one float attn_mask given to torch 1.13's
    F._scaled_dot_product_attention (bool True = attend and float masks, no scale argument: q is
    pre-scaled; torch 2's scaled_dot_product_attention does not exist in 1.13), or with softcap
    softmax(c·tanh(q·kᵀ·scale/c) + mask)·v in torch ops. Rows that see no key come out NaN."""
    q, k, v = q.double(), k.double(), v.double()
    B, H, Lq, D = q.shape
    Lk = k.shape[2]
    group = H // k.shape[1]
    k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
    scale = 1 / math.sqrt(D) if scale is None else scale
    bias = torch.zeros(B, H, Lq, Lk, dtype=torch.float64)
    hidden = torch.zeros(B, H, Lq, Lk, dtype=torch.bool)
    distance = (torch.arange(Lk)[None, :] - (torch.arange(Lq) + Lk - Lq)[:, None]).abs()
    if alibi is not None:
        if alibi is True:  # slope h = BLOOM's alibi at key position 1
            slopes = build_alibi_tensor(torch.ones(1, 2, dtype=torch.long), H, torch.float32).view(H, 2)[:, 1]
        else:
            slopes = alibi
        bias -= slopes.double()[:, None, None] * distance
    if relativeBias is not None:
        t5 = T5RelativeBias(relativeBias['table'].double(), relativeBias['numBuckets'], relativeBias['maxDistance'],
                            relativeBias['bidirectional'])
        bias += t5.compute_bias(Lq, Lk, cache_position=torch.arange(Lk - Lq, Lk))
    if attnMask is not None:
        if attnMask.dtype == torch.bool:
            hidden |= ~attnMask
        else:
            bias += attnMask.double()
    if causal:
        hidden |= torch.triu(torch.ones(Lq, Lk, dtype=torch.bool), diagonal=Lk - Lq + 1)
    if window is not None:
        left, right = (x if x >= 0 else Lk for x in window)
        hidden |= construct_local_mask(Lq, Lk, (left, right))
    if keyLengths is not None:
        hidden |= (torch.arange(Lk)[None, :] >= torch.tensor(keyLengths)[:, None])[:, None, None, :]
    attn_mask = bias.masked_fill(hidden, float('-inf'))
    if softcap is None:
        output, weights = F._scaled_dot_product_attention(q * (scale * math.sqrt(D)), k, v, attn_mask, 0.0, True, False)
    else:
        scores = softcap * torch.tanh(q @ k.transpose(-2, -1) * scale / softcap)
        weights = torch.softmax(scores + attn_mask, dim=-1)
        output = weights @ v
    return output, weights


def short(x, decimals):
    """A tensor stored by its values rounded to `decimals` places, shortest repr: for the inputs of
    variants.json, which are generated already rounded (quantized() below), that is their exact
    float32 value (asserted); for the expected outputs (float64) an error of at most 0.5e-8."""
    data = [round(v, decimals) for v in x.detach().double().flatten().tolist()]
    data = [int(v) if v == int(v) else v for v in data]  # 0 rather than 0.0 (or -0.0)
    if x.dtype == torch.float32:
        assert torch.equal(torch.tensor(data, dtype=torch.float64).float().view(x.shape), x)
    return {'shape': list(x.shape), 'data': data}


def quantized(x, decimals=2):
    """x rounded to `decimals` places, as float32 the way JavaScript reads the JSON: the decimal
    to the nearest double, then to the nearest float32 (Float32Array.from)."""
    return (torch.round(x.double() * 10 ** decimals) / 10 ** decimals).float()


def variants_fixture():
    g = torch.Generator().manual_seed(SEED)  # its own stream: the fixtures above stay as they were
    randn = lambda *shape: quantized(torch.randn(*shape, generator=g))
    uniform = lambda lo, hi, *shape, decimals=2: quantized(torch.rand(*shape, generator=g) * (hi - lo) + lo, decimals)

    def bool_mask(shape, p, Lq, Lk, empty_rows=()):
        m = torch.rand(*shape, generator=g) < p  # shape [..., Lq, Lk]
        for index in [tuple(x) for x in (~m.any(-1)).nonzero().tolist()]:  # one key at least per row ...
            m[index + (index[-1] + Lk - Lq,)] = True
        for index in empty_rows:  # ... but these
            m[index] = False
        return m

    cases = {}
    checks = []

    def case(name, B, H, Lq, Lk, D, Hk=None, Dv=None, qk=None, empty_rows=0, **opts):
        Hk, Dv = Hk or H, Dv or D
        if qk is None:
            q, k = randn(B, H, Lq, D), randn(B, Hk, Lk, D)
        else:
            q, k = uniform(-qk, qk, B, H, Lq, D), uniform(-qk, qk, B, Hk, Lk, D)
        v = randn(B, Hk, Lk, Dv)
        output, weights, visible = variant_attention(q, k, v, **opts)
        assert int((~visible.any(-1)).sum()) == empty_rows, name
        # the cross-check: agreement with PyTorch's ops, and NaN exactly where no key is visible
        want_o, want_w = pytorch_attention(q, k, v, **opts)
        empty = ~visible.any(-1)
        assert bool(want_w[empty].isnan().all()) and bool(want_o[empty].isnan().all()), name
        err = max((output - want_o)[~empty].abs().max().item(), (weights - want_w)[~empty].abs().max().item())
        checks.append((name, 'PyTorch ops', err))
        assert err < 1e-12, (name, err)
        for key in opts:  # every option the case names matters: without it the weights change
            without = variant_attention(q, k, v, **{o: x for o, x in opts.items() if o != key})[1]
            assert (without - weights).abs().max().item() > 1e-2, (name, key)
        json_opts = {}
        for key, value in opts.items():
            if key == 'alibi' and value is not True:
                value = short(value, 3)['data']
            elif key == 'relativeBias':
                value = {'table': short(value['table'], 2), **{k: value[k] for k in ('numBuckets', 'maxDistance', 'bidirectional')}}
            elif key == 'attnMask':
                data = value.flatten().tolist()
                if value.dtype == torch.bool:
                    value = {'dtype': 'bool', 'shape': list(value.shape), 'data': [int(x) for x in data]}
                else:  # JSON has no -Infinity: stored as the string "-Infinity" (Number() reads it)
                    data = [round(x, 2) if math.isfinite(x) else '-Infinity' for x in data]
                    assert torch.equal(torch.tensor([float(x) for x in data], dtype=torch.float64).float().view(value.shape), value)
                    assert all(x != float('inf') and x == x for x in value.flatten().tolist())
                    value = {'dtype': 'float32', 'shape': list(value.shape), 'data': data}
            elif key == 'window':
                value = list(value)
            json_opts[key] = value
        cases[name] = {'q': short(q, 2), 'k': short(k, 2), 'v': short(v, 2), 'options': json_opts,
                       'output': short(output, 8), 'weights': short(weights, 8)}
        return q, k, v

    # each option alone
    q, k, v = case('causal', 1, 2, 17, 17, 8, causal=True)
    out, w = F._scaled_dot_product_attention(q.double(), k.double(), v.double(), None, 0.0, True, True)  # square: top-left = bottom-right
    o2, w2, _ = variant_attention(q, k, v, causal=True)
    err = max((o2 - out).abs().max().item(), (w2 - w).abs().max().item())
    checks.append(('causal', 'F._scaled_dot_product_attention(is_causal=True)', err))
    assert err < 1e-12, err
    case('keyLengths', 2, 2, 6, 17, 6, keyLengths=[17, 9])
    case('softcap', 1, 2, 8, 14, 8, qk=3, softcap=5.0, scale=1.0)
    alibi_cases = {name: case(name, *shape, alibi=alibi) for name, shape, alibi in [
        ('alibi H=6', (1, 6, 4, 15, 8), True),
        ('alibi H=4', (1, 4, 6, 17, 8), True),
        ('alibi slopes', (1, 3, 6, 13, 8), uniform(0.05, 0.8, 3, decimals=3)),
    ]}
    case('t5 bidirectional', 1, 2, 8, 33, 8, relativeBias={'table': randn(8, 2), 'numBuckets': 8, 'maxDistance': 20, 'bidirectional': True})
    case('t5 unidirectional', 1, 2, 10, 30, 8, relativeBias={'table': randn(8, 2), 'numBuckets': 8, 'maxDistance': 20, 'bidirectional': False})
    case('bool mask [Lq, Lk]', 2, 2, 8, 17, 8, attnMask=bool_mask((8, 17), 0.6, 8, 17))
    float_mask = uniform(-2, 2, 2, 1, 1, 18)
    float_mask[0, 0, 0, 3] = float_mask[1, 0, 0, 11] = float('-inf')
    case('float mask [B, 1, 1, Lk]', 2, 2, 6, 18, 8, Dv=5, attnMask=float_mask)
    case('window [3, 0]', 1, 2, 9, 20, 8, window=(3, 0))
    case('window [2, 2]', 1, 2, 17, 22, 8, window=(2, 2))
    case('gqa H=4 Hk=2', 1, 4, 9, 19, 8, Hk=2)
    case('gqa H=4 Hk=1', 1, 4, 5, 13, 8, Hk=1)
    # a query that sees no key: zeros (output and weights)
    case('no visible key', 1, 2, 5, 9, 8, empty_rows=2, attnMask=bool_mask((1, 2, 5, 9), 0.6, 5, 9, empty_rows=[(0, 0, 4), (0, 1, 1)]))
    # combinations
    name = 'causal + window + alibi + gqa + keyLengths'
    alibi_cases[name] = case(name, 2, 4, 6, 20, 8, Hk=2, causal=True, window=(4, -1), alibi=True, keyLengths=[20, 16])
    case('softcap + relativeBias + bool mask + window', 1, 2, 10, 24, 8, softcap=8.0,
         relativeBias={'table': randn(16, 2), 'numBuckets': 16, 'maxDistance': 24, 'bidirectional': True},
         attnMask=bool_mask((2, 10, 24), 0.7, 10, 24), window=(-1, 3))

    # more cross-checks, not stored
    err = 0.0
    for n in range(1, 33):  # the slopes: BLOOM's (float32) = the ALiBi paper's (float64)
        err = max(err, (alibi_slopes(n).double() - torch.tensor(get_slopes(n), dtype=torch.float64)).abs().max().item())
    assert err < 1e-7, err
    checks.append(('alibi slopes H = 1..32', "ALiBi paper's get_slopes", err))
    for name, (q, k, v) in alibi_cases.items():  # causal: BLOOM's slope·key position differs from -slope·|j - pos(i)| by a constant per row
        B, H, Lq, D = q.shape
        Lk, group = k.shape[2], H // k.shape[1]
        out, w, _ = variant_attention(q, k, v, causal=True, alibi=True)
        alibi = build_alibi_tensor(torch.ones(B, Lk, dtype=torch.long), H, torch.float64).view(B, H, 1, Lk)
        kk, vv = k.double().repeat_interleave(group, 1), v.double().repeat_interleave(group, 1)
        scores = q.double() @ kk.transpose(-2, -1) / math.sqrt(D) + alibi
        w2 = torch.softmax(scores.masked_fill(torch.triu(torch.ones(Lq, Lk, dtype=torch.bool), Lk - Lq + 1), float('-inf')), -1)
        err = max((w - w2).abs().max().item(), (out - w2 @ vv).abs().max().item())
        checks.append((f'{name} inputs, alibi: true (H = {H}) and causal alone', "BLOOM's build_alibi_tensor", err))
        assert err < 1e-12, err
    for bidirectional in (True, False):  # T5: compute_bias with cache_position = the last Lq rows of compute_bias(Lk, Lk)
        t5 = T5RelativeBias(randn(8, 3), 8, 20, bidirectional)
        Lq, Lk = 7, 40
        a = t5.compute_bias(Lq, Lk, cache_position=torch.arange(Lk - Lq, Lk))
        assert torch.equal(a, t5.compute_bias(Lk, Lk)[:, :, -Lq:, :])

    write('variants.json', {
        'format': 'inputs (q, k, v, tables, masks, slopes) are exact float32 values written with 2 or 3 decimals; '
                  'output [B, H, Lq, Dv] and weights [B, H, Lq, Lk] are float64 results rounded to 8 decimals; '
                  'a float attnMask writes -inf as the string "-Infinity"; a bool attnMask writes 1 (may attend) / 0',
        'cases': cases})
    for name, against, err in checks:
        print(f'  {name}: max abs difference from {against} {err:.1e}')


# 7. Transformer layers with PyTorch's masks and layouts ----------------------------------------
def randomize(module, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_((torch.rand(p.shape, generator=g) * 2 - 1) * (0.5 if p.dim() > 1 else 0.2))


def right_padding(lengths, n):
    return torch.arange(n)[None, :] >= torch.tensor(lengths)[:, None]  # true = padding


def left_padding(lengths, n):
    return torch.arange(n)[None, :] < (n - torch.tensor(lengths))[:, None]  # true = padding


def bool_mask(shape, g, diagonal=True):
    m = torch.rand(shape, generator=g) < 0.35  # true = masked
    if diagonal:  # every query keeps its own position: no row is fully masked
        m &= ~torch.eye(shape[-2], shape[-1], dtype=torch.bool)
    return m


def float_mask(shape, g):
    m = torch.rand(shape, generator=g) * 2 - 1
    hidden = torch.rand(shape, generator=g) < 0.25
    hidden &= ~torch.eye(shape[-2], shape[-1], dtype=torch.bool)
    return m.masked_fill(hidden, float('-inf'))


def mask_json(m):
    """A mask as the runtime takes it: bool data as 0/1 (true = masked), float as numbers (-inf as null)."""
    if m.dtype == torch.bool:
        return {'kind': 'bool', 'shape': list(m.shape), 'data': [int(v) for v in m.flatten().tolist()]}
    return {'kind': 'float', 'shape': list(m.shape), 'data': [None if math.isinf(v) else float(f'{v:.9g}') for v in m.flatten().tolist()]}


def transformer_masks_fixture():
    """PyTorch's non-fast path (gradients enabled): its fast path (eval, no_grad) may give zeros for
    padded query rows, and a row that sees no key is NaN on every path (stored as null). The test
    compares the rows of real (non-padded) tokens; `rows` [B, L] marks them (1), and the outputs there
    are finite."""
    E, H, FF, B, L, S = 16, 4, 32, 2, 6, 7
    g = torch.Generator().manual_seed(70)
    rnd = lambda *shape: torch.rand(shape, generator=g) * 2 - 1

    def case(out, rows, options, batch_first=True):
        o = out if batch_first else out.transpose(0, 1)
        assert torch.isfinite(o[rows]).all(), 'a real row is not finite'
        output = t(out)  # NaN (a padded row that sees no key) written as null
        output['data'] = [None if math.isnan(v) else v for v in output['data']]
        return {'options': options, 'output': output, 'rows': [[int(v) for v in r] for r in rows.tolist()]}

    real = lambda pad: ~pad
    all_rows = torch.ones(B, L, dtype=torch.bool)
    enc = nn.TransformerEncoderLayer(E, H, FF, dropout=0.0, activation='relu', batch_first=True)
    randomize(enc, 71)
    enc.eval()
    src = rnd(B, L, E)
    causal = torch.triu(torch.ones(L, L, dtype=torch.bool), 1)
    right, left = right_padding([L, 4], L), left_padding([L, 4], L)
    mask2, mask3, fmask = bool_mask((L, L), g), bool_mask((B * H, L, L), g), float_mask((L, L), g)
    with torch.enable_grad():
        encoder_cases = {
            'rightPadding': case(enc(src, src_key_padding_mask=right), real(right), {'srcKeyPaddingMask': mask_json(right)}),
            'leftPadding': case(enc(src, src_key_padding_mask=left), real(left), {'srcKeyPaddingMask': mask_json(left)}),
            'boolMask': case(enc(src, src_mask=mask2), all_rows, {'srcMask': mask_json(mask2)}),
            'boolMask3d': case(enc(src, src_mask=mask3), all_rows, {'srcMask': mask_json(mask3)}),
            'floatMask': case(enc(src, src_mask=fmask), all_rows, {'srcMask': mask_json(fmask)}),
            'floatMaskLeftPadding': case(enc(src, src_mask=fmask, src_key_padding_mask=left), real(left), {'srcMask': mask_json(fmask), 'srcKeyPaddingMask': mask_json(left)}),
            # left padding with a causal mask: the first padded rows see no key at all (NaN in PyTorch)
            'causalLeftPadding': case(enc(src, src_mask=causal, src_key_padding_mask=left), real(left), {'srcMask': mask_json(causal), 'srcKeyPaddingMask': mask_json(left)}),
        }
    # batch_first=False: [L, B, E] in and out; the padding masks stay [B, L]
    enc_lbe = nn.TransformerEncoderLayer(E, H, FF, dropout=0.0, activation='gelu', batch_first=False, norm_first=True)
    randomize(enc_lbe, 72)
    enc_lbe.eval()
    src_lbe = rnd(L, B, E)
    with torch.enable_grad():
        lbe_cases = {
            'plain': case(enc_lbe(src_lbe), all_rows, {}, False),
            'leftPadding': case(enc_lbe(src_lbe, src_key_padding_mask=left), real(left), {'srcKeyPaddingMask': mask_json(left)}, False),
        }
    # a stack: 2 pre-norm GELU layers and a final norm, float src mask and left padding
    layer = nn.TransformerEncoderLayer(E, H, FF, dropout=0.0, activation='gelu', batch_first=True, norm_first=True)
    stack = nn.TransformerEncoder(layer, num_layers=2, norm=nn.LayerNorm(E), enable_nested_tensor=False)
    randomize(stack, 73)
    stack.eval()
    with torch.enable_grad():
        stack_case = case(stack(src, mask=fmask, src_key_padding_mask=left), real(left), {'srcMask': mask_json(fmask), 'srcKeyPaddingMask': mask_json(left)})
    # decoder layer: causal bool tgt mask, left-padded target and memory, a float memory mask
    dec = nn.TransformerDecoderLayer(E, H, FF, dropout=0.0, activation='relu', batch_first=True)
    randomize(dec, 74)
    dec.eval()
    tgt, memory = rnd(B, L, E), rnd(B, S, E)
    tgt_left, mem_left, mem_right = left_padding([L, 4], L), left_padding([S, 5], S), right_padding([S, 5], S)
    mmask = float_mask((L, S), g)
    mmask3 = bool_mask((B * H, L, S), g)
    with torch.enable_grad():
        decoder_cases = {
            'memoryLeftPadding': case(dec(tgt, memory, tgt_mask=causal, memory_key_padding_mask=mem_left), all_rows,
                                      {'tgtMask': mask_json(causal), 'memoryKeyPaddingMask': mask_json(mem_left)}),
            'memoryRightPadding': case(dec(tgt, memory, tgt_mask=causal, memory_key_padding_mask=mem_right), all_rows,
                                       {'tgtMask': mask_json(causal), 'memoryKeyPaddingMask': mask_json(mem_right)}),
            'tgtLeftPadding': case(dec(tgt, memory, tgt_key_padding_mask=tgt_left, memory_key_padding_mask=mem_left), real(tgt_left),
                                   {'tgtKeyPaddingMask': mask_json(tgt_left), 'memoryKeyPaddingMask': mask_json(mem_left)}),
            'memoryFloatMask': case(dec(tgt, memory, tgt_mask=causal, memory_mask=mmask), all_rows,
                                    {'tgtMask': mask_json(causal), 'memoryMask': mask_json(mmask)}),
            'memoryBoolMask3d': case(dec(tgt, memory, memory_mask=mmask3, memory_key_padding_mask=mem_right), all_rows,
                                     {'memoryMask': mask_json(mmask3), 'memoryKeyPaddingMask': mask_json(mem_right)}),
        }
    dec_lbe = nn.TransformerDecoderLayer(E, H, FF, dropout=0.0, activation='gelu', batch_first=False, norm_first=True)
    randomize(dec_lbe, 75)
    dec_lbe.eval()
    tgt_lbe, mem_lbe = rnd(L, B, E), rnd(S, B, E)
    with torch.enable_grad():
        dec_lbe_case = case(dec_lbe(tgt_lbe, mem_lbe, tgt_mask=causal, memory_key_padding_mask=mem_left), all_rows,
                            {'tgtMask': mask_json(causal), 'memoryKeyPaddingMask': mask_json(mem_left)}, False)
    write('transformer-masks.json', {
        'dModel': E, 'nhead': H,
        'encoder': {'config': {'activation': 'relu'}, 'weights': state(enc), 'src': t(src), 'cases': encoder_cases},
        'encoderSequenceFirst': {'config': {'activation': 'gelu', 'normFirst': True, 'batchFirst': False}, 'weights': state(enc_lbe), 'src': t(src_lbe), 'cases': lbe_cases},
        'encoderStack': {'config': {'activation': 'gelu', 'normFirst': True, 'numLayers': 2, 'norm': True}, 'weights': state(stack), 'src': t(src), 'case': stack_case},
        'decoder': {'config': {'activation': 'relu'}, 'weights': state(dec), 'tgt': t(tgt), 'memory': t(memory), 'cases': decoder_cases},
        'decoderSequenceFirst': {'config': {'activation': 'gelu', 'normFirst': True, 'batchFirst': False}, 'weights': state(dec_lbe), 'tgt': t(tgt_lbe), 'memory': t(mem_lbe), 'case': dec_lbe_case},
    })


# 8. Norms and activations (F.layer_norm, F.gelu none / tanh, relu, silu, tanh) ------------------
def norms_fixture():
    g = torch.Generator().manual_seed(80)
    N = 24
    x = torch.randn((3, 5, N), generator=g) * 2 + 0.5
    residual = torch.randn((3, 5, N), generator=g)
    weight = torch.rand((N,), generator=g) * 2 - 0.5
    bias = torch.rand((N,), generator=g) - 0.5
    # activations over [-8, 8] and a few larger magnitudes
    a = torch.cat([torch.linspace(-8, 8, 161), torch.tensor([-30.0, -12.5, -0.001, 0.0, 0.001, 12.5, 30.0])])
    write('norms.json', {
        'x': t(x), 'residual': t(residual), 'weight': t(weight), 'bias': t(bias),
        'layerNorm': {
            'affine': t(F.layer_norm(x, (N,), weight, bias, 1e-5)),
            'plain': t(F.layer_norm(x, (N,), None, None, 1e-5)),
            'eps': t(F.layer_norm(x, (N,), weight, None, 1e-2)),
            # the residual add rounded to float32, then the norm (a fused post-norm step)
            'residual': t(F.layer_norm(x + residual, (N,), weight, bias, 1e-5)),
        },
        'a': t(a),
        'activations': {
            'gelu': t(F.gelu(a.double(), approximate='none')),
            'geluTanh': t(F.gelu(a.double(), approximate='tanh')),
            'relu': t(F.relu(a)),
            'silu': t(F.silu(a.double())),
            'tanh': t(torch.tanh(a.double())),
        },
    })


if __name__ == '__main__':
    torch.manual_seed(SEED)
    os.makedirs(OUT, exist_ok=True)
    for make in (mha_fixture, bahdanau_fixture, luong_fixture, rope_fixture, sdpa_fixture, variants_fixture,
                 transformer_masks_fixture, norms_fixture):
        make()
