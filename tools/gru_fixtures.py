# PyTorch fixtures for test/gru.test.ts and test/gru-seq2seq.test.ts: torch.nn.GRU (one layer,
# batch_first) and the PyTorch seq2seq tutorial's EncoderRNN + AttnDecoderRNN (with its
# BahdanauAttention, verbatim, eval mode: dropout off), with seeded random weights, written as JSON
# to test/fixtures/gru-seq2seq.json (committed; the tests read it and need no Python).
#
# Regenerate (Debian's torch 1.13; the `python3` first on PATH may have no torch):
#   apt-get install -y python3-torch
#   /usr/bin/python3 tools/gru_fixtures.py
#
# Every tensor is stored as {"shape": [...], "data": [flat, row-major]}, float32 values printed
# with 9 significant digits (enough to round-trip a float32 exactly).
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seq2seq_tutorial import AttnDecoderRNN, EncoderRNN

OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures'))
SEED = 0
SOS_token, EOS_token = 0, 1


def t(x):
    x = x.detach().to(torch.float32).contiguous()
    return {'shape': list(x.shape), 'data': [float(f'{v:.9g}') for v in x.flatten().tolist()]}


def state(module):
    return {k: t(v) for k, v in module.state_dict().items()}


# The tutorial's modules come from tools/seq2seq_tutorial.py; the decoder's greedy loop lives in
# greedy() below (it stops at EOS).
def greedy(encoder, decoder, ids, max_length):
    """The tutorial's decode (argmax fed back) for one sentence, stopping after EOS."""
    with torch.no_grad():
        encoder_outputs, hidden = encoder(torch.tensor([ids]))
        token = torch.tensor([[SOS_token]])
        tokens, log_probs, attentions = [], [], []
        for _ in range(max_length):
            output, hidden, attn = decoder.forward_step(token, hidden, encoder_outputs)
            log_probs.append(F.log_softmax(output, dim=-1)[0, 0])
            attentions.append(attn[0, 0])
            _, topi = output.topk(1)
            token = topi.squeeze(-1).detach()
            tokens.append(int(token))
            if tokens[-1] == EOS_token:
                break
    return {'ids': ids, 'tokens': tokens, 'logProbs': t(torch.stack(log_probs)), 'attentions': t(torch.stack(attentions)),
            'encoderHidden': t(encoder(torch.tensor([ids]))[1][0, 0])}


def gru_fixture():
    I, H, B, L = 5, 16, 2, 6
    gru = nn.GRU(I, H, batch_first=True).eval()
    x, h0 = torch.randn(B, L, I), torch.randn(1, B, H)
    lengths = [3, 6]
    with torch.no_grad():
        out, hn = gru(x)
        out0, hn0 = gru(x, h0)
        packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
        pout, phn = gru(packed, h0)
        pout, _ = pad_packed_sequence(pout, batch_first=True, total_length=L)
        step_x = torch.randn(B, 1, I)
        _, step_h = gru(step_x, h0)
    return {'inputSize': I, 'hiddenSize': H, 'weights': state(gru), 'x': t(x), 'h0': t(h0[0]), 'lengths': lengths,
            'output': t(out), 'hidden': t(hn[0]), 'outputH0': t(out0), 'hiddenH0': t(hn0[0]),
            'outputPacked': t(pout), 'hiddenPacked': t(phn[0]), 'stepX': t(step_x[:, 0]), 'stepHidden': t(step_h[0])}


def seq2seq_fixture():
    H, V_IN, V_OUT, MAX = 16, 12, 14, 12
    encoder = EncoderRNN(V_IN, H).eval()
    decoder = AttnDecoderRNN(H, V_OUT).eval()
    with torch.no_grad():  # sharper outputs than the default init, and EOS likely enough to be emitted
        decoder.out.weight.mul_(4.0)
        decoder.out.bias[EOS_token] += 1.4
    sentences = [[3, 7, 2, 9, 4, 11, 5], [8, 2, 2, 6], [10, 4, 7, 3, 3, 9, 2, 5, 6, 11], [5]]
    decodes = [greedy(encoder, decoder, ids, MAX) for ids in sentences]
    return {'hiddenSize': H, 'inputVocab': V_IN, 'outputVocab': V_OUT, 'sos': SOS_token, 'eos': EOS_token, 'maxLength': MAX,
            'encoder': state(encoder), 'decoder': state(decoder), 'decodes': decodes}


if __name__ == '__main__':
    torch.manual_seed(SEED)
    fixture = {'generator': f'tools/gru_fixtures.py (torch {torch.__version__}, seed {SEED})',
               'gru': gru_fixture(), 'seq2seq': seq2seq_fixture()}
    for d in fixture['seq2seq']['decodes']:
        print(len(d['ids']), 'tokens:', d['tokens'])
    path = os.path.join(OUT, 'gru-seq2seq.json')
    with open(path, 'w') as f:
        json.dump(fixture, f, separators=(',', ':'))
        f.write('\n')
    print(f'{os.path.relpath(path)}: {os.path.getsize(path)} bytes')
