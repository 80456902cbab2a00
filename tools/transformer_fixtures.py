# PyTorch fixtures for the transformer layers: torch.nn.TransformerEncoderLayer and
# TransformerDecoderLayer (batch_first, eval, dropout off), post-norm ReLU and pre-norm GELU, with
# causal and key-padding masks, written to test/fixtures/transformer.json (state_dicts, inputs and
# PyTorch's outputs). PyTorch's non-fast path computes them (gradients enabled), so padded query
# rows attend to the visible keys as every path of ours does.
#
# Regenerate (Debian's torch 1.13):  /usr/bin/python3 tools/transformer_fixtures.py
import json
import os

import torch
import torch.nn as nn

OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'transformer.json'))
E, HEADS, FF, B, L, S = 16, 4, 32, 2, 7, 9


def t(x):
    x = x.detach().to(torch.float32).contiguous()
    return {'shape': list(x.shape), 'data': [float(f'{v:.9g}') for v in x.flatten().tolist()]}


def state(module):
    return {name: t(value) for name, value in module.state_dict().items()}


def randomize(module, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_((torch.rand(p.shape, generator=g) * 2 - 1) * (0.5 if p.dim() > 1 else 0.2))


def padding(lengths, n):
    return torch.arange(n)[None, :] >= torch.tensor(lengths)[:, None]  # true = padding


def main():
    torch.manual_seed(0)
    cases = []
    for index, (activation, norm_first) in enumerate([('relu', False), ('gelu', True)]):
        enc = nn.TransformerEncoderLayer(E, HEADS, FF, dropout=0.0, activation=activation, batch_first=True, norm_first=norm_first)
        dec = nn.TransformerDecoderLayer(E, HEADS, FF, dropout=0.0, activation=activation, batch_first=True, norm_first=norm_first)
        randomize(enc, 10 + index)
        randomize(dec, 20 + index)
        enc.eval()
        dec.eval()
        src = torch.rand(B, L, E) * 2 - 1
        tgt = torch.rand(B, L, E) * 2 - 1
        memory = torch.rand(B, S, E) * 2 - 1
        causal = torch.triu(torch.ones(L, L, dtype=torch.bool), 1)
        with torch.enable_grad():  # the non-fast path
            runs = {
                'plain': enc(src),
                'causal': enc(src, src_mask=causal),
                'keyLengths': enc(src, src_key_padding_mask=padding([L, 4], L)),
            }
            dec_runs = {
                'causal': dec(tgt, memory, tgt_mask=causal),
                'memoryKeyLengths': dec(tgt, memory, tgt_mask=causal, memory_key_padding_mask=padding([S, 5], S)),
            }
        config = {'dModel': E, 'nhead': HEADS, 'dimFeedforward': FF, 'activation': activation, 'normFirst': norm_first, 'layerNormEps': 1e-5}
        cases.append({
            'config': config,
            'encoder': {'weights': state(enc), 'src': t(src), 'outputs': {k: t(v) for k, v in runs.items()}, 'keyLengths': [L, 4]},
            'decoder': {'weights': state(dec), 'tgt': t(tgt), 'memory': t(memory), 'outputs': {k: t(v) for k, v in dec_runs.items()}, 'memoryKeyLengths': [S, 5]},
        })
    # a whole nn.TransformerEncoder: 2 post-norm GELU layers and a final LayerNorm, prefixed as in a model
    layer = nn.TransformerEncoderLayer(E, HEADS, FF, dropout=0.0, activation='gelu', batch_first=True)
    stack = nn.TransformerEncoder(layer, num_layers=2, norm=nn.LayerNorm(E), enable_nested_tensor=False)
    randomize(stack, 30)
    stack.eval()
    src = torch.rand(B, L, E) * 2 - 1
    with torch.enable_grad():
        out = stack(src, mask=torch.triu(torch.ones(L, L, dtype=torch.bool), 1))
    encoder = {
        'config': {'numLayers': 2, 'dModel': E, 'nhead': HEADS, 'dimFeedforward': FF, 'activation': 'gelu', 'norm': True, 'prefix': 'encoder.'},
        'weights': {f'encoder.{k}': v for k, v in state(stack).items()}, 'src': t(src), 'causal': t(out),
    }
    # a whole nn.TransformerDecoder: 2 pre-norm ReLU layers and a final LayerNorm
    dlayer = nn.TransformerDecoderLayer(E, HEADS, FF, dropout=0.0, activation='relu', batch_first=True, norm_first=True)
    dstack = nn.TransformerDecoder(dlayer, num_layers=2, norm=nn.LayerNorm(E))
    randomize(dstack, 40)
    dstack.eval()
    tgt = torch.rand(B, L, E) * 2 - 1
    memory = torch.rand(B, S, E) * 2 - 1
    with torch.enable_grad():
        dout = dstack(tgt, memory, tgt_mask=torch.triu(torch.ones(L, L, dtype=torch.bool), 1), memory_key_padding_mask=padding([S, 5], S))
    decoder = {
        'config': {'numLayers': 2, 'dModel': E, 'nhead': HEADS, 'dimFeedforward': FF, 'activation': 'relu', 'normFirst': True, 'norm': True, 'prefix': 'decoder.'},
        'weights': {f'decoder.{k}': v for k, v in state(dstack).items()}, 'tgt': t(tgt), 'memory': t(memory), 'memoryKeyLengths': [S, 5], 'output': t(dout),
    }
    with open(OUT, 'w') as f:
        json.dump({'generator': f'tools/transformer_fixtures.py (torch {torch.__version__})', 'cases': cases, 'encoder': encoder, 'decoder': decoder}, f)
        f.write('\n')
    print(f'wrote {OUT} ({os.path.getsize(OUT)} bytes)')


if __name__ == '__main__':
    main()
