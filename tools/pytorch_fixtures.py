# PyTorch fixtures for test/pytorch.test.ts: small seeded inputs, weights and PyTorch's outputs
# for multi-head attention, the seq2seq tutorial's Bahdanau attention, Luong attention, RoPE and
# causal scaled dot-product attention, written as JSON to test/fixtures/ (committed; the test
# reads them and needs no Python).
#
# Regenerate (Debian's torch 1.13; the `python3` first on PATH may have no torch):
#   apt-get install -y python3-torch
#   /usr/bin/python3 tools/pytorch_fixtures.py
#
# Every tensor is stored as {"shape": [...], "data": [flat, row-major]}, float32 values printed
# with 9 significant digits (enough to round-trip a float32 exactly).
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

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
class BahdanauAttention(nn.Module):
    def __init__(self, hidden_size):
        super(BahdanauAttention, self).__init__()
        self.Wa = nn.Linear(hidden_size, hidden_size)
        self.Ua = nn.Linear(hidden_size, hidden_size)
        self.Va = nn.Linear(hidden_size, 1)

    def forward(self, query, keys):
        scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys)))
        scores = scores.squeeze(2).unsqueeze(1)

        weights = F.softmax(scores, dim=-1)
        context = torch.bmm(weights, keys)

        return context, weights


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


if __name__ == '__main__':
    torch.manual_seed(SEED)
    os.makedirs(OUT, exist_ok=True)
    for make in (mha_fixture, bahdanau_fixture, luong_fixture, rope_fixture, sdpa_fixture):
        make()
