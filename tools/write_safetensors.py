# safetensors fixtures for test/safetensors.test.ts, written by hand (Debian has no `safetensors`
# package; the format is 8 bytes of little-endian u64 header length N, N bytes of UTF-8 JSON
# { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__"?: { str: str } }, then the
# data buffer, offsets relative to its start, little-endian, row-major):
#
#   encoder-layer-f32.safetensors   the state_dict of a seeded torch.nn.TransformerEncoderLayer(
#                                   d_model=16, nhead=4, dim_feedforward=32, batch_first=True), eval
#   encoder-layer-f16.safetensors   the same tensors as float16 (torch's rounding, raw bits)
#   encoder-layer-bf16.safetensors  the same tensors as bfloat16
#   metadata.safetensors            __metadata__, mixed dtypes, a scalar, an empty tensor, a header
#                                   padded with spaces to 8 bytes, data not in header order
#   expected.json                   for every file and tensor: its dtype, shape and the float32
#                                   values torch gives (`.to(torch.float32)`) as little-endian
#                                   float32 bytes in base64 (bit-exact, and small)
#
# Regenerate (Debian's torch 1.13; the `python3` first on PATH may have no torch):
#   apt-get install -y python3-torch
#   /usr/bin/python3 tools/write_safetensors.py
import base64
import json
import os
import struct

import torch

OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'safetensors'))
SEED = 0
DTYPES = {'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16}


def raw_bytes(t, dtype):
    """The little-endian bytes of t stored as dtype (torch rounds to nearest even)."""
    t = t.detach().to(DTYPES[dtype]).contiguous().flatten()
    if dtype == 'F32':
        return struct.pack(f'<{t.numel()}f', *t.tolist())
    return struct.pack(f'<{t.numel()}h', *t.view(torch.int16).tolist())


def as_float32_base64(t, dtype):
    """What a reader must return: the dtype's value converted to float32, as LE float32 bytes."""
    t = t.detach().to(DTYPES[dtype]).to(torch.float32).contiguous().flatten()
    return base64.b64encode(struct.pack(f'<{t.numel()}i', *t.view(torch.int32).tolist())).decode('ascii')


def write(name, tensors, order=None, metadata=None, pad=False):
    """tensors: {name: (tensor, dtype)}; data laid out in `order` (default: the dict's order)."""
    header, chunks, at = {}, [], 0
    for key in order or tensors:
        t, dtype = tensors[key]
        data = raw_bytes(t, dtype)
        header[key] = {'dtype': dtype, 'shape': list(t.shape), 'data_offsets': [at, at + len(data)]}
        chunks.append(data)
        at += len(data)
    header = {k: header[k] for k in tensors}  # header in the dict's order, whatever the data order
    if metadata is not None:
        header = {'__metadata__': metadata, **header}
    text = json.dumps(header, separators=(',', ':'), ensure_ascii=False).encode('utf-8')
    if pad:  # as the Rust writer does: the data buffer starts 8-aligned
        text += b' ' * (-len(text) % 8)
    path = os.path.join(OUT, name)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)
    print(f'{os.path.relpath(path)}: {os.path.getsize(path)} bytes')
    return {k: {'dtype': d, 'shape': list(t.shape), 'float32_le_base64': as_float32_base64(t, d)} for k, (t, d) in tensors.items()}


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(SEED)
    layer = torch.nn.TransformerEncoderLayer(d_model=16, nhead=4, dim_feedforward=32, batch_first=True).eval()
    with torch.no_grad():  # biases and norms start constant: give them values so they are checked too
        for name, p in layer.named_parameters():
            if name.endswith('bias') or name.startswith('norm'):
                p.uniform_(-0.5, 0.5)
        # a few values in float16's subnormal range and beyond its max, so the F16 file has
        # subnormals and ±inf, and small ones below bfloat16's precision
        layer.linear2.bias[:4] = torch.tensor([3e-6, -4e-7, 70000.0, -1e5])
    state = layer.state_dict()
    expected = {'generator': f'tools/write_safetensors.py (torch {torch.__version__}, seed {SEED})', 'files': {}}
    for dtype in DTYPES:
        name = f'encoder-layer-{dtype.lower()}.safetensors'
        expected['files'][name] = write(name, {k: (v, dtype) for k, v in state.items()})

    g = torch.Generator().manual_seed(SEED + 1)
    mixed = {
        'weight': (torch.randn(3, 5, generator=g), 'F32'),
        'half': (torch.randn(2, 3, generator=g), 'F16'),
        'brain': (torch.randn(7, generator=g), 'BF16'),
        'scalar': (torch.tensor(2.5), 'F32'),
        'empty': (torch.zeros(0, 3), 'F16'),
    }
    expected['files']['metadata.safetensors'] = write(
        'metadata.safetensors', mixed, order=['brain', 'scalar', 'weight', 'empty', 'half'],
        metadata={'format': 'pt', 'source': 'tools/write_safetensors.py', 'note': 'ünïcödé ✓ "quoted"'}, pad=True)

    path = os.path.join(OUT, 'expected.json')
    with open(path, 'w') as f:
        json.dump(expected, f, indent=1)
        f.write('\n')
    print(f'{os.path.relpath(path)}: {os.path.getsize(path)} bytes')


if __name__ == '__main__':
    main()
