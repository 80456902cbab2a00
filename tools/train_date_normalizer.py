"""Train the seq2seq date normaliser: free-form dates -> ISO yyyy-mm-dd.

Run (Debian's torch 1.13; the `python3` first on PATH may have no torch):

    /usr/bin/python3 tools/train_date_normalizer.py            # train, evaluate, export everything
    /usr/bin/python3 tools/train_date_normalizer.py --help     # hidden size, steps, output dirs...

Training takes ~1.2 min (3000 steps, batch 64, one torch thread, OpenBLAS, shared machine; a few
minutes with the reference BLAS); it prints the training time and the per-format
held-out accuracy (committed model, H=64: 100.00% of 5000 held-out dates, every format). Fully
seeded: the same options on the same torch give the same weights (up to CPU float reordering
across torch versions / BLAS libraries / thread counts).

Debian's torch links the reference BLAS (slow: ~0.15 s a training step at H=64). The committed
model was trained with OpenBLAS swapped in for this process only, ~3.5x faster, nothing installed:
    apt-get download libopenblas0-pthread && dpkg -x libopenblas0-pthread_*.deb /tmp/oblas
    LD_LIBRARY_PATH=/tmp/oblas/usr/lib/x86_64-linux-gnu/openblas-pthread OPENBLAS_NUM_THREADS=1 \
        /usr/bin/python3 tools/train_date_normalizer.py

What it writes (paths relative to the repository root, all committed, so tests never need Python):

    models/date-normalizer/weights.safetensors   float32 tensors `encoder.<name>` / `decoder.<name>`,
                                                 <name> the seq2seq tutorial's state_dict names
    models/date-normalizer/vocab.json            the token conventions (see VOCAB FIELDS below)
    models/date-normalizer/onnx/encoder.onnx     the encoder (opset 14): ids int64 [1, S] ->
                                                 outputs [1, S, H], hidden [1, 1, H] (S dynamic)
    models/date-normalizer/onnx/decoder-step.onnx one decoder step: token int64 [1, 1],
                                                 hidden [1, 1, H], encoder_outputs [1, S, H] ->
                                                 log_probs [1, 1, V], hidden_out [1, 1, H],
                                                 attention [1, 1, S] (S dynamic)
    test/fixtures/date-normalizer-greedy.json    PyTorch's greedy decode of 66 fixed inputs
    test/fixtures/date-normalizer-beam.json      PyTorch's beam search (beam 3) of 8 fixed inputs
    test/fixtures/date-formats.json              88 (date, format, casing, text) rows for
                                                 test/date-formats.test.ts (the JS formatter)
  and, with --dump-formats FILE, 200 rows of random_dates(200, 12345) to compare with
  test/helpers/dates.ts.

--export-only reloads weights.safetensors and rewrites everything else. The committed fixtures and
ONNX files were written that way with Debian's default (reference) BLAS, so plain
`/usr/bin/python3 tools/train_date_normalizer.py --export-only` reproduces them byte for byte; the
weights came from the training run with OpenBLAS (below) - outputs differ by ~1e-5 between BLASes.

Model: exactly the PyTorch seq2seq tutorial's EncoderRNN + AttnDecoderRNN (Bahdanau attention),
batch_first, one GRU layer, dropout in training only; inference in eval mode, a batch of one, no
padding.

THE TASK. Dates 1900-01-01 .. 2099-12-31 (every valid day, Feb 29 of leap years included), words
in one casing for the whole string (lower, Title or UPPER), in one of eleven formats (FORMATS):

    month-day-year           november 22, 2026
    mon-day-year             nov 22, 2026           (three-letter abbreviation: sep for September)
    mon.-day-year            nov. 22, 2026          (with a period; sept. for September, may for May)
    day-month-year           22 november 2026
    weekday-month-day-year   sunday, november 22, 2026   (the date's real weekday)
    m/d/y                    11/22/2026  1/2/2026   (no leading zeros)
    mm/dd/y                  11/22/2026  01/02/2026 (two digits each)
    d.m.y                    22.11.2026  5.3.2026   (no leading zeros)
    dd.mm.y                  22.11.2026  05.03.2026 (two digits each)
    y-m-d                    2026-11-22             (ISO 8601: the output itself)
    korean                   2026년 11월 22일
  -> 2026-11-22. Casing changes letters only (Title = first letter of every word upper-cased).
  Years are always written with four digits.

RANDOM DATES (identical in test/helpers/dates.ts): mulberry32(seed) gives uint32 values u;
pick(n) = floor(u / 2^32 * n) (float64). Each sample draws, in this order, day = pick(73049) days
after 1900-01-01, format = FORMATS[pick(11)], casing = CASINGS[pick(3)].

VOCAB FIELDS (models/date-normalizer/vocab.json):
    input           the input tokens by index: input[0] = "<sos>" (never fed to the encoder, kept
                    as in the tutorial's Lang), input[1] = "<eos>", then every character any
                    format can produce, sorted by code point. One character = one token; a
                    character not in the list is an error (there is no <unk>).
    output          the output tokens by index: "<sos>", "<eos>", "-", "0".."9".
    sos             index of <sos> in `output` (0): the decoder's first input token.
    eos             index of <eos> in `output` (1): decoding stops once it is emitted.
    inputEos        index of <eos> in `input` (1), appended after the characters.
    appendInputEos  true: encoder input = [ids of the characters..., inputEos].
    maxLength       11: the greedy/beam decoder stops after this many steps at most (10 characters
                    of yyyy-mm-dd + <eos>).
    minYear/maxYear 1900 / 2099: the years of the training dates; the runtime marks answers outside
                    them invalid (src/models/date-check.ts).
    hiddenSize      H.
    formats         the format names, in the order randomDates draws them.
    casings         the casing names, likewise.
    training        (information only) the options, time and held-out accuracy of the run.

GREEDY DECODING: encoder over the whole input (batch of one; its last hidden state is the hidden
after the input <eos>, the last real token); decoder hidden = that, input = <sos>; each step
emits argmax of the log-probs (first index on ties), feeds it back; stop after emitting <eos>
(which is part of the output tokens) or after maxLength steps. The string is the emitted tokens
before <eos>.

BEAM SEARCH (beam K = 3, no length penalty): hypotheses start as one alive hypothesis [] with
score 0. Each step, every alive hypothesis is expanded with every output token; a candidate's
score is its parent's score + the token's log-prob (float32 log-probs summed in float64). The K
best candidates of the step (stable sort by score descending; ties keep the order parent index,
then token index) are kept; those whose token is <eos> are finished (moved out, with the <eos>
counted in their score and tokens), the others stay alive - so the alive beam can shrink and K
counts finished plus alive at each step. Stop when nothing is alive or after maxLength steps
(hypotheses still alive then are returned as unfinished). Result: finished and unfinished
hypotheses together, sorted by score descending (stable), at most K per step survived.

TRAINING: batches of exactly one input length (bucketed), so nothing is padded and the model never
sees padding; teacher forcing with ratio 0.5 (per batch); NLL over the 11 output steps; Adam with
a cosine learning-rate decay; dropout 0.1. The held-out dates (test and validation sets) are
removed from the training pool (by date, whatever the format).
"""
import argparse
import datetime
import json
import math
import os
import random
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

import seq2seq_tutorial as tutorial

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

# ---------------------------------------------------------------------------------------------
# Dates and formats (mirror of test/helpers/dates.ts)
# ---------------------------------------------------------------------------------------------
FORMATS = ['month-day-year', 'mon-day-year', 'mon.-day-year', 'day-month-year', 'weekday-month-day-year', 'm/d/y', 'mm/dd/y',
           'd.m.y', 'dd.mm.y', 'y-m-d', 'korean']
CASINGS = ['lower', 'title', 'upper']
MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december']
WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']  # date.weekday() order
FIRST = datetime.date(1900, 1, 1)
LAST = datetime.date(2099, 12, 31)
DAY_COUNT = (LAST - FIRST).days + 1  # 73049


def case_word(word, casing):
    if casing == 'upper':
        return word.upper()
    if casing == 'title':
        return word[:1].upper() + word[1:]
    return word


def dotted_abbreviation(month):
    """The abbreviation with a period: 'nov.', 'sept.' for September, 'may' (not shortened, no period)."""
    if month == 5:
        return 'may'
    return ('sept' if month == 9 else MONTHS[month - 1][:3]) + '.'


def format_date(year, month, day, fmt, casing):
    """The text of a date in a format and casing (test/helpers/dates.ts: formatDate)."""
    name = case_word(MONTHS[month - 1], casing)
    abbr = case_word(MONTHS[month - 1][:3], casing)
    if fmt == 'month-day-year':
        return f'{name} {day}, {year}'
    if fmt == 'mon-day-year':
        return f'{abbr} {day}, {year}'
    if fmt == 'mon.-day-year':
        return f'{case_word(dotted_abbreviation(month), casing)} {day}, {year}'
    if fmt == 'day-month-year':
        return f'{day} {name} {year}'
    if fmt == 'weekday-month-day-year':
        weekday = case_word(WEEKDAYS[datetime.date(year, month, day).weekday()], casing)
        return f'{weekday}, {name} {day}, {year}'
    if fmt == 'm/d/y':
        return f'{month}/{day}/{year}'
    if fmt == 'mm/dd/y':
        return f'{month:02d}/{day:02d}/{year}'
    if fmt == 'd.m.y':
        return f'{day}.{month}.{year}'
    if fmt == 'dd.mm.y':
        return f'{day:02d}.{month:02d}.{year}'
    if fmt == 'y-m-d':
        return f'{year}-{month:02d}-{day:02d}'
    if fmt == 'korean':
        return f'{year}년 {month}월 {day}일'
    raise ValueError(f'unknown format {fmt!r}')


def iso(year, month, day):
    return f'{year:04d}-{month:02d}-{day:02d}'


class Mulberry32:
    """The generator of src/reference/random.ts, as uint32 draws."""

    def __init__(self, seed):
        self.s = seed & 0xFFFFFFFF

    def next_u32(self):
        self.s = (self.s + 0x6D2B79F5) & 0xFFFFFFFF
        t = self.s
        t = ((t ^ (t >> 15)) * (t | 1)) & 0xFFFFFFFF
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & 0xFFFFFFFF)) & 0xFFFFFFFF
        return (t ^ (t >> 14)) & 0xFFFFFFFF

    def pick(self, n):
        return math.floor(self.next_u32() / 4294967296 * n)


def random_dates(count, seed):
    """[{text, iso, format, casing, date}] exactly as randomDates(count, seed) in dates.ts."""
    rng = Mulberry32(seed)
    out = []
    for _ in range(count):
        d = FIRST + datetime.timedelta(days=rng.pick(DAY_COUNT))
        fmt = FORMATS[rng.pick(len(FORMATS))]
        casing = CASINGS[rng.pick(len(CASINGS))]
        out.append({'text': format_date(d.year, d.month, d.day, fmt, casing), 'iso': iso(d.year, d.month, d.day),
                    'format': fmt, 'casing': casing, 'date': (d.year, d.month, d.day)})
    return out


# ---------------------------------------------------------------------------------------------
# Vocabularies
# ---------------------------------------------------------------------------------------------
SOS, EOS = '<sos>', '<eos>'
MAX_LENGTH = 11


def input_alphabet():
    chars = set('0123456789 ,/.-년월일')
    for w in MONTHS + WEEKDAYS:
        for casing in CASINGS:
            chars.update(case_word(w, casing))
            chars.update(case_word(w[:3], casing))
    return sorted(chars)


INPUT_VOCAB = [SOS, EOS] + input_alphabet()
OUTPUT_VOCAB = [SOS, EOS, '-'] + list('0123456789')
IN_INDEX = {c: i for i, c in enumerate(INPUT_VOCAB)}
OUT_INDEX = {c: i for i, c in enumerate(OUTPUT_VOCAB)}
IN_EOS, OUT_SOS, OUT_EOS = IN_INDEX[EOS], OUT_INDEX[SOS], OUT_INDEX[EOS]


def encode_input(text):
    return [IN_INDEX[c] for c in text] + [IN_EOS]


def encode_output(s):
    return [OUT_INDEX[c] for c in s] + [OUT_EOS]


def decode_output(ids):
    out = []
    for i in ids:
        if i == OUT_EOS:
            break
        out.append(OUTPUT_VOCAB[i])
    return ''.join(out)


# ---------------------------------------------------------------------------------------------
# The tutorial's model (module and parameter names kept)
# ---------------------------------------------------------------------------------------------
EncoderRNN = tutorial.EncoderRNN


class AttnDecoderRNN(tutorial.AttnDecoderRNN):
    """The tutorial's decoder (tools/seq2seq_tutorial.py); its steps give log-probs."""

    def forward_step(self, input, hidden, encoder_outputs):
        """input [B, 1] token ids, hidden [1, B, H], encoder_outputs [B, S, H] ->
        log-probs [B, 1, V], hidden [1, B, H], attention weights [B, 1, S]."""
        output, hidden, attn_weights = super().forward_step(input, hidden, encoder_outputs)
        return F.log_softmax(output, dim=-1), hidden, attn_weights

    def forward(self, encoder_outputs, encoder_hidden, target_tensor=None, teacher_forcing=False, steps=MAX_LENGTH):
        """Training/batched decoding over `steps` steps (teacher forcing feeds target_tensor)."""
        batch = encoder_outputs.size(0)
        decoder_input = torch.full((batch, 1), OUT_SOS, dtype=torch.long)
        hidden = encoder_hidden
        outputs = []
        for i in range(steps):
            log_probs, hidden, _ = self.forward_step(decoder_input, hidden, encoder_outputs)
            outputs.append(log_probs)
            if teacher_forcing:
                decoder_input = target_tensor[:, i].unsqueeze(1)
            else:
                decoder_input = log_probs.argmax(-1).detach()
        return torch.cat(outputs, dim=1)


# ---------------------------------------------------------------------------------------------
# Inference (batch of one, eval mode)
# ---------------------------------------------------------------------------------------------
@torch.no_grad()
def greedy(encoder, decoder, text):
    ids = encode_input(text)
    enc_out, enc_hidden = encoder(torch.tensor([ids]))
    hidden, token = enc_hidden, OUT_SOS
    tokens, log_probs, attention = [], [], []
    for _ in range(MAX_LENGTH):
        lp, hidden, w = decoder.forward_step(torch.tensor([[token]]), hidden, enc_out)
        token = int(lp[0, 0].argmax())
        tokens.append(token)
        log_probs.append(lp[0, 0])
        attention.append(w[0, 0])
        if token == OUT_EOS:
            break
    return {'ids': ids, 'tokens': tokens, 'text': decode_output(tokens), 'log_probs': torch.stack(log_probs),
            'attention': torch.stack(attention), 'encoder_outputs': enc_out[0], 'encoder_hidden': enc_hidden[0, 0]}


@torch.no_grad()
def beam_search(encoder, decoder, text, beam=3):
    """The rule of the docstring (BEAM SEARCH)."""
    enc_out, enc_hidden = encoder(torch.tensor([encode_input(text)]))
    alive = [([], 0.0, enc_hidden)]  # (tokens, score, hidden)
    done = []
    for _ in range(MAX_LENGTH):
        if not alive:
            break
        candidates = []
        for tokens, score, hidden in alive:
            last = tokens[-1] if tokens else OUT_SOS
            lp, h, _ = decoder.forward_step(torch.tensor([[last]]), hidden, enc_out)
            for v, x in enumerate(lp[0, 0].tolist()):
                candidates.append((tokens + [v], score + x, h))
        candidates.sort(key=lambda c: -c[1])  # stable
        alive = []
        for tokens, score, h in candidates[:beam]:
            if tokens[-1] == OUT_EOS:
                done.append({'tokens': tokens, 'text': decode_output(tokens), 'score': score, 'finished': True})
            else:
                alive.append((tokens, score, h))
    done += [{'tokens': t, 'text': decode_output(t), 'score': s, 'finished': False} for t, s, _ in alive]
    done.sort(key=lambda d: -d['score'])
    return done


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------
def make_batches(samples, batch_size, rng):
    """Batches of one input length each (no padding), shuffled."""
    buckets = {}
    for s in samples:
        buckets.setdefault(len(s[0]), []).append(s)
    batches = []
    for length in sorted(buckets):
        items = buckets[length]
        rng.shuffle(items)
        for i in range(0, len(items), batch_size):
            chunk = items[i:i + batch_size]
            batches.append((torch.tensor([c[0] for c in chunk]), torch.tensor([c[1] for c in chunk])))
    rng.shuffle(batches)
    return batches


@torch.no_grad()
def batched_accuracy(encoder, decoder, rows):
    """Greedy exact match, batched by input length (the same as one by one: nothing is padded)."""
    encoder.eval(), decoder.eval()
    per_len = {}
    for r in rows:
        per_len.setdefault(len(r['text']), []).append(r)
    correct = 0
    for group in per_len.values():
        ids = torch.tensor([encode_input(r['text']) for r in group])
        out, hidden = encoder(ids)
        pred = decoder(out, hidden).argmax(-1).tolist()
        correct += sum(decode_output(p) == r['iso'] for p, r in zip(pred, group))
    encoder.train(), decoder.train()
    return correct / len(rows)


def per_format_accuracy(encoder, decoder, rows):
    """Greedy, batch of one (the runtime's way), per format."""
    encoder.eval(), decoder.eval()
    stats = {f: [0, 0] for f in FORMATS}
    wrong = []
    for r in rows:
        ok = greedy(encoder, decoder, r['text'])['text'] == r['iso']
        stats[r['format']][0] += ok
        stats[r['format']][1] += 1
        if not ok:
            wrong.append(r)
    return stats, wrong


def train(args):
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    test_rows = random_dates(args.test_size, args.test_seed)
    val_rows = random_dates(1000, args.test_seed + 1)
    held = {r['date'] for r in test_rows + val_rows}
    pool = [r for r in random_dates(args.pool, args.seed) if r['date'] not in held]
    samples = [(encode_input(r['text']), encode_output(r['iso'])) for r in pool]
    print(f'training pool {len(samples)} samples ({args.pool - len(samples)} with held-out dates removed), '
          f'test {len(test_rows)}, validation {len(val_rows)}; input vocab {len(INPUT_VOCAB)}, output vocab {len(OUTPUT_VOCAB)}')

    encoder = EncoderRNN(len(INPUT_VOCAB), args.hidden)
    decoder = AttnDecoderRNN(args.hidden, len(OUTPUT_VOCAB))
    params = list(encoder.parameters()) + list(decoder.parameters())
    print(f'hidden {args.hidden}, {sum(p.numel() for p in params)} parameters')
    optimizer = torch.optim.Adam(params, lr=args.lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, args.steps) / args.steps)))

    start = time.time()
    step, batches, perfect = 0, [], 0
    loss_sum = 0.0
    while step < args.steps:
        if not batches:
            batches = make_batches(samples, args.batch, rng)
        ids, target = batches.pop()
        enc_out, enc_hidden = encoder(ids)
        log_probs = decoder(enc_out, enc_hidden, target, teacher_forcing=rng.random() < args.teacher_forcing)
        loss = F.nll_loss(log_probs.reshape(-1, log_probs.size(-1)), target.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        schedule.step()
        step += 1
        loss_sum += loss.item()
        if step % args.eval_every == 0 or step == args.steps:
            acc = batched_accuracy(encoder, decoder, val_rows)
            print(f'step {step:5d}  {time.time() - start:6.1f}s  loss {loss_sum / args.eval_every:.4f}  '
                  f'lr {schedule.get_last_lr()[0]:.2e}  validation exact match {100 * acc:.2f}%', flush=True)
            loss_sum = 0.0
            perfect = perfect + 1 if acc == 1.0 else 0
            if args.stop_when_perfect and perfect >= args.stop_when_perfect:
                print(f'validation at 100% {perfect} times in a row: stopping')
                break
    seconds = time.time() - start
    encoder.eval(), decoder.eval()
    stats, wrong = per_format_accuracy(encoder, decoder, test_rows)
    total = sum(s[0] for s in stats.values())
    print(f'trained {step} steps in {seconds:.0f}s')
    print(f'held-out greedy exact match (batch of one, {len(test_rows)} dates, seed {args.test_seed}): {100 * total / len(test_rows):.2f}%')
    for f, (ok, n) in stats.items():
        print(f'  {f:24s} {ok:5d}/{n:5d}  {100 * ok / n:6.2f}%')
    for r in wrong[:20]:
        print(f'  wrong: {r["text"]!r} -> {greedy(encoder, decoder, r["text"])["text"]!r} (want {r["iso"]})')
    summary = {'options': {k: getattr(args, k) for k in ('hidden', 'steps', 'batch', 'lr', 'teacher_forcing', 'pool', 'seed', 'test_seed', 'threads')},
               'blas': 'openblas' if 'openblas' in os.environ.get('LD_LIBRARY_PATH', '') else 'default',
               'steps': step, 'seconds': round(seconds), 'testSize': len(test_rows), 'accuracy': total / len(test_rows),
               'perFormat': {f: s[0] / s[1] for f, s in stats.items()}}
    return encoder, decoder, summary


# ---------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------
def t(x):
    x = x.detach().to(torch.float32).contiguous()
    return {'shape': list(x.shape), 'data': [float(f'{v:.9g}') for v in x.flatten().tolist()]}


def write_json(path, obj, compact=True):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        if compact:
            json.dump(obj, f, separators=(',', ':'), ensure_ascii=False)
        else:
            json.dump(obj, f, indent=1, ensure_ascii=False)
        f.write('\n')
    print(f'{os.path.relpath(path, ROOT)}: {os.path.getsize(path)} bytes')


def write_safetensors(path, tensors, metadata):
    """The safetensors format by hand (as tools/write_safetensors.py): u64 LE header length, JSON
    header, then the little-endian float32 data, tensors in order, 8-aligned header."""
    header, chunks, at = {'__metadata__': metadata}, [], 0
    for name, x in tensors.items():
        x = x.detach().to(torch.float32).contiguous().flatten()
        data = struct.pack(f'<{x.numel()}f', *x.tolist())
        header[name] = {'dtype': 'F32', 'shape': list(tensors[name].shape), 'data_offsets': [at, at + len(data)]}
        chunks.append(data)
        at += len(data)
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * (-len(text) % 8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)
    print(f'{os.path.relpath(path, ROOT)}: {os.path.getsize(path)} bytes')


FIXTURE_DATES = [(1900, 1, 1), (2099, 12, 31), (2000, 2, 29), (2026, 11, 22), (1969, 7, 20), (2013, 5, 17)]
BEAM_INPUTS = ['november 22, 2026', 'NOV 22, 2026', '29 February 2000', 'Monday, January 1, 1900',
               '12/31/2099', '1.1.1900', '2000년 2월 29일', 'Sep 3, 1987', '01/02/2026', '05.03.2026', '2026-11-22',
               'Sept. 3, 1987']


def fixture_inputs():
    """6 dates x 11 formats = 66 inputs; the casing cycles so every format meets every casing."""
    rows = []
    for i, (y, m, d) in enumerate(FIXTURE_DATES):
        for j, fmt in enumerate(FORMATS):
            casing = CASINGS[(i + j) % 3]
            rows.append({'text': format_date(y, m, d, fmt, casing), 'iso': iso(y, m, d), 'format': fmt, 'casing': casing})
    return rows


def vocab_json(hidden):
    return {'input': INPUT_VOCAB, 'output': OUTPUT_VOCAB, 'sos': OUT_SOS, 'eos': OUT_EOS, 'inputEos': IN_EOS,
            'appendInputEos': True, 'maxLength': MAX_LENGTH, 'minYear': FIRST.year, 'maxYear': LAST.year, 'hiddenSize': hidden, 'formats': FORMATS, 'casings': CASINGS}


def export(encoder, decoder, args, summary):
    encoder.eval(), decoder.eval()
    generator = f'tools/train_date_normalizer.py (torch {torch.__version__}, seed {args.seed}, hidden {args.hidden})'
    tensors = {f'encoder.{k}': v for k, v in encoder.state_dict().items()}
    tensors.update({f'decoder.{k}': v for k, v in decoder.state_dict().items()})
    write_safetensors(os.path.join(args.out, 'weights.safetensors'), tensors,
                      {'format': 'pt', 'generator': generator, 'hiddenSize': str(args.hidden)})
    write_json(os.path.join(args.out, 'vocab.json'), {**vocab_json(args.hidden), 'training': summary}, compact=False)

    cases = []
    for k, row in enumerate(fixture_inputs()):
        g = greedy(encoder, decoder, row['text'])
        case = {**row, 'ids': g['ids'], 'tokens': g['tokens'], 'output': g['text'], 'correct': g['text'] == row['iso'],
                'logProbs': t(g['log_probs']), 'attention': t(g['attention'])}
        if k < 3:
            case['encoderOutputs'] = t(g['encoder_outputs'])
            case['encoderHidden'] = t(g['encoder_hidden'])
        cases.append(case)
    print(f'greedy fixtures: {sum(c["correct"] for c in cases)}/{len(cases)} correct')
    write_json(os.path.join(args.fixtures, 'date-normalizer-greedy.json'), {
        'generator': generator,
        'note': 'eval mode, batch of one, float32; logProbs [T, V] log_softmax rows, attention [T, S] per decoder step; '
                'encoderOutputs [S, H] and encoderHidden [H] for the first 3 cases',
        'vocab': vocab_json(args.hidden), 'cases': cases})

    beams = []
    for text in BEAM_INPUTS:
        hyps = beam_search(encoder, decoder, text, beam=3)
        beams.append({'text': text, 'ids': encode_input(text), 'hypotheses': [
            {**h, 'score': float(f'{h["score"]:.12g}')} for h in hyps]})
    write_json(os.path.join(args.fixtures, 'date-normalizer-beam.json'), {
        'generator': generator, 'beam': 3, 'lengthPenalty': None,
        'rule': 'see the BEAM SEARCH paragraph of tools/train_date_normalizer.py: each step keep the 3 best expansions '
                'of the alive hypotheses (score = sum of float32 log-probs in float64, <eos> included); <eos> ones '
                'finish, the rest stay alive; stop when none is alive or after maxLength steps; all sorted by score',
        'cases': beams})

    rows = []
    for i, (y, m, d) in enumerate(FIXTURE_DATES + [(1904, 2, 29), (1999, 12, 31)]):
        for j, fmt in enumerate(FORMATS):
            casing = CASINGS[(i + 2 * j) % 3]
            rows.append({'date': {'year': y, 'month': m, 'day': d}, 'format': fmt, 'casing': casing,
                         'text': format_date(y, m, d, fmt, casing)})
    sample = random_dates(6, 7)
    write_json(os.path.join(args.fixtures, 'date-formats.json'), {
        'generator': 'tools/train_date_normalizer.py', 'rows': rows,
        'randomDates': {'count': 6, 'seed': 7, 'rows': [{k: r[k] for k in ('text', 'iso', 'format')} for r in sample]}},
        compact=False)

    if not args.no_onnx:
        export_onnx(encoder, decoder, args)


class DecoderStep(nn.Module):
    def __init__(self, decoder):
        super().__init__()
        self.decoder = decoder

    def forward(self, token, hidden, encoder_outputs):
        return self.decoder.forward_step(token, hidden, encoder_outputs)


def export_onnx(encoder, decoder, args):
    out = os.path.join(args.out, 'onnx')
    os.makedirs(out, exist_ok=True)
    ids = torch.tensor([encode_input('november 22, 2026')])
    try:
        with torch.no_grad():
            torch.onnx.export(encoder, (ids,), os.path.join(out, 'encoder.onnx'), input_names=['ids'],
                              output_names=['outputs', 'hidden'], dynamic_axes={'ids': {1: 'S'}, 'outputs': {1: 'S'}},
                              opset_version=14)
            enc_out, hidden = encoder(ids)
            torch.onnx.export(DecoderStep(decoder), (torch.tensor([[OUT_SOS]]), hidden, enc_out), os.path.join(out, 'decoder-step.onnx'),
                              input_names=['token', 'hidden', 'encoder_outputs'], output_names=['log_probs', 'hidden_out', 'attention'],
                              dynamic_axes={'encoder_outputs': {1: 'S'}, 'attention': {2: 'S'}}, opset_version=14)
        for name in ('encoder.onnx', 'decoder-step.onnx'):
            print(f'{os.path.relpath(os.path.join(out, name), ROOT)}: {os.path.getsize(os.path.join(out, name))} bytes')
    except Exception as e:  # noqa: BLE001 - report and go on, the rest is written
        print(f'ONNX export failed: {type(e).__name__}: {e}', file=sys.stderr)


def load(args):
    """Rebuild the model from weights.safetensors (for --export-only)."""
    path = os.path.join(args.out, 'weights.safetensors')
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    header.pop('__metadata__', None)
    tensors = {}
    for name, h in header.items():
        b, e = h['data_offsets']
        tensors[name] = torch.tensor(struct.unpack(f'<{(e - b) // 4}f', data[b:e])).reshape(h['shape'])
    hidden = tensors['encoder.embedding.weight'].shape[1]
    encoder = EncoderRNN(len(INPUT_VOCAB), hidden)
    decoder = AttnDecoderRNN(hidden, len(OUTPUT_VOCAB))
    encoder.load_state_dict({k[8:]: v for k, v in tensors.items() if k.startswith('encoder.')})
    decoder.load_state_dict({k[8:]: v for k, v in tensors.items() if k.startswith('decoder.')})
    return encoder.eval(), decoder.eval(), hidden


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--hidden', type=int, default=64, help='hidden size H (default 64)')
    p.add_argument('--steps', type=int, default=3000, help='training steps at most (default 3000)')
    p.add_argument('--batch', type=int, default=64)
    p.add_argument('--lr', type=float, default=3e-3)
    p.add_argument('--teacher-forcing', type=float, default=0.5)
    p.add_argument('--pool', type=int, default=150000, help='training samples drawn (seeded) before held-out dates are removed')
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--test-seed', type=int, default=1000, help='held-out test set seed (validation: seed + 1)')
    p.add_argument('--test-size', type=int, default=5000)
    p.add_argument('--eval-every', type=int, default=250)
    p.add_argument('--stop-when-perfect', type=int, default=0, help='stop after N evaluations in a row at 100%% validation (0: never)')
    p.add_argument('--threads', type=int, default=1, help='torch threads (default 1: on the shared 2-core machine 2 threads ran ~3x slower than 1)')
    p.add_argument('--out', default=os.path.join(ROOT, 'models', 'date-normalizer'))
    p.add_argument('--fixtures', default=os.path.join(ROOT, 'test', 'fixtures'))
    p.add_argument('--no-onnx', action='store_true')
    p.add_argument('--export-only', action='store_true', help='skip training: reload weights.safetensors and rewrite the rest')
    p.add_argument('--dump-formats', metavar='FILE', help='write 200 randomDates(200, 12345) rows as JSON to FILE and exit')
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    if args.dump_formats:
        rows = [{'date': dict(zip(('year', 'month', 'day'), r['date'])), 'format': r['format'], 'casing': r['casing'],
                 'text': r['text'], 'iso': r['iso']} for r in random_dates(200, 12345)]
        with open(args.dump_formats, 'w', encoding='utf-8') as f:
            json.dump(rows, f, ensure_ascii=False)
        print(f'{args.dump_formats}: {len(rows)} rows')
        return

    if args.export_only:
        encoder, decoder, args.hidden = load(args)
        with open(os.path.join(args.out, 'vocab.json'), encoding='utf-8') as f:
            summary = json.load(f).get('training')
    else:
        encoder, decoder, summary = train(args)
    export(encoder, decoder, args, summary)


if __name__ == '__main__':
    main()
