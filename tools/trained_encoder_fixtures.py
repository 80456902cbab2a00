"""A small TRAINED BERT in the Hugging Face folder layout, for measuring what f16, bf16, q8 and q4 weights
do to a trained encoder's sentence embeddings (the random fixtures of test/fixtures/checkpoints have
weights no trained model has). Step 2 of 2; step 1, `node tools/trained_encoder_tokenize.mjs`,
tokenizes Moby-Dick (chapters 1-125 train; held-out sentences from 126-135 and the epilogue) and writes
test/fixtures/encoder-trained/inputs.json.

Regenerate (Debian's torch 1.13 with OpenBLAS, as tools/trained_lm_fixtures.py says):
    node tools/trained_encoder_tokenize.mjs
    /usr/bin/python3 tools/trained_encoder_fixtures.py [--steps N]
Seeded, one thread: a second run on the same corpus, torch and BLAS rewrites every file byte for byte.

test/fixtures/encoder-trained/bert/: config.json (BertModel: hidden 128, 4 layers, 4 heads, intermediate
512, gelu, 64 positions, vocabulary 605), model.safetensors (F32, BertModel names without prefix, pooler
included as initialised), and bert-mini-st's tokenizer.json, tokenizer_config.json and
special_tokens_map.json. Model code: the transformers-following BertModel of tools/encoder_fixtures.py
(its upstream line citations are there). Trained as a masked language model (the training head: dense,
gelu, LayerNorm, then the word table transposed plus a bias, as BertForMaskedLM's; not saved) from
transformers' initialisation (N(0, 0.02), LayerNorm 1 / 0): 15% of the ids chosen, 80% of those
[MASK], 10% a random id, 10% kept; AdamW (lr 1e-3, 100 warm-up steps, cosine to 1e-4, weight decay
0.01), random windows of 62 training ids between [CLS] and [SEP], batch 32.

test/fixtures/encoder-trained/expected.json: the masked-LM loss on the held-out sentences (one fixed
masking) before and after training, and per sentence of inputs.json its mean-pooled last hidden state
(float32, 8 significant digits; each sentence alone, token types 0).
"""
import argparse
import json
import math
import os
import shutil
import sys
import tempfile

os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')  # one thread: the same bits on every run
import torch  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from encoder_fixtures import BertModel, Config, bert_config, pool, r8, write_json, write_safetensors  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'encoder-trained')
TOKENIZER = os.path.join(ROOT, 'test', 'fixtures', 'checkpoints', 'bert-mini-st')
SCRATCH = os.path.join(tempfile.gettempdir(), 'wasm-attention-trained-lm')
SEED = 0
WINDOW, BATCH = 62, 32
LR, LR_MIN, WARMUP, WEIGHT_DECAY = 1e-3, 1e-4, 100, 0.01


class MaskedLMHead(nn.Module):
    """BertForMaskedLM's head (transform: dense, gelu, LayerNorm; decoder: the word table transposed + bias)."""

    def __init__(self, c, word_embeddings):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.norm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.word_embeddings = word_embeddings
        self.bias = nn.Parameter(torch.zeros(c.vocab_size))

    def forward(self, h):
        h = self.norm(nn.functional.gelu(self.dense(h)))
        return h @ self.word_embeddings.weight.t() + self.bias


def mask_ids(ids, special, vocab, g):
    """15% of the non-special ids chosen: 80% -> [MASK], 10% -> a random id, 10% kept; labels -100 elsewhere."""
    labels = ids.clone()
    candidates = torch.ones_like(ids, dtype=torch.bool)
    for t in special.values():
        candidates &= ids != t
    chosen = (torch.rand(ids.shape, generator=g) < 0.15) & candidates
    labels[~chosen] = -100
    roll = torch.rand(ids.shape, generator=g)
    out = ids.clone()
    out[chosen & (roll < 0.8)] = special['[MASK]']
    random_ids = torch.randint(len(special), vocab, ids.shape, generator=g)
    swap = chosen & (roll >= 0.8) & (roll < 0.9)
    out[swap] = random_ids[swap]
    return out, labels


def lr_at(step, steps):
    if step < WARMUP:
        return LR * (step + 1) / WARMUP
    t = (step - WARMUP) / max(1, steps - WARMUP)
    return LR_MIN + 0.5 * (LR - LR_MIN) * (1 + math.cos(math.pi * t))


def held_out_loss(model, head, sentences, special, vocab):
    g = torch.Generator().manual_seed(SEED + 7)  # the same masking every time
    total, n = 0.0, 0
    with torch.no_grad():
        for s in sentences:
            ids = torch.tensor([s['input_ids']])
            masked, labels = mask_ids(ids, special, vocab, g)
            h = model(masked, torch.ones_like(ids), torch.zeros_like(ids))['last_hidden_state']
            loss = nn.functional.cross_entropy(head(h).reshape(-1, vocab), labels.reshape(-1), ignore_index=-100, reduction='sum')
            total += loss.item()
            n += int((labels != -100).sum())
    return float(f'{total / max(n, 1):.4g}')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--steps', type=int, default=2000)
    args = ap.parse_args()
    torch.set_num_threads(1)
    with open(os.path.join(OUT, 'inputs.json'), encoding='utf-8') as f:
        inputs = json.load(f)
    special, vocab, sentences = inputs['special'], inputs['vocab_size'], inputs['sentences']
    cfg = bert_config('BertModel', vocab, special['[PAD]'], max_position_embeddings=64,
                      extra={'hidden_size': 128, 'intermediate_size': 512, 'num_hidden_layers': 4, 'num_attention_heads': 4})
    c = Config(**cfg)
    model = BertModel(c)
    head = MaskedLMHead(c, model.embeddings.word_embeddings)
    g = torch.Generator().manual_seed(SEED)
    with torch.no_grad():  # transformers' _init_weights: Linear / Embedding N(0, initializer_range), biases 0, LayerNorm 1 / 0
        for name, p in list(model.named_parameters()) + [('head.' + n, p) for n, p in head.named_parameters() if not n.startswith('word_embeddings')]:
            if 'LayerNorm' in name or '.norm.' in name:
                p.fill_(1.0 if name.endswith('weight') else 0.0)
            elif name.endswith('bias'):
                p.zero_()
            else:
                p.copy_(0.02 * torch.randn(p.shape, generator=g))
        model.embeddings.word_embeddings.weight[special['[PAD]']].zero_()
    before = held_out_loss(model, head, sentences, special, vocab)
    params = list(model.parameters()) + [p for n, p in head.named_parameters() if not n.startswith('word_embeddings')]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': WEIGHT_DECAY}, {'params': no_decay, 'weight_decay': 0.0}], lr=LR)
    with open(os.path.join(SCRATCH, 'bert.train.json'), encoding='utf-8') as f:
        data = torch.tensor(json.load(f), dtype=torch.long)
    cls = torch.full((BATCH, 1), special['[CLS]'], dtype=torch.long)
    sep = torch.full((BATCH, 1), special['[SEP]'], dtype=torch.long)
    model.train()
    for step in range(args.steps):
        for group in opt.param_groups:
            group['lr'] = lr_at(step, args.steps)
        starts = torch.randint(0, len(data) - WINDOW, (BATCH,), generator=g)
        ids = torch.cat([cls, torch.stack([data[s:s + WINDOW] for s in starts.tolist()]), sep], dim=1)
        masked, labels = mask_ids(ids, special, vocab, g)
        h = model(masked, torch.ones_like(ids), torch.zeros_like(ids))['last_hidden_state']
        loss = nn.functional.cross_entropy(head(h).reshape(-1, vocab), labels.reshape(-1), ignore_index=-100)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if step % 200 == 0 or step == args.steps - 1:
            model.eval()
            print(f'bert step {step}: training loss {loss.item():.3f}, held-out {held_out_loss(model, head, sentences, special, vocab):.3f}', flush=True)
            model.train()
    model.eval()
    folder = os.path.join(OUT, 'bert')
    os.makedirs(folder, exist_ok=True)
    write_json(os.path.join(folder, 'config.json'), cfg)
    write_safetensors(os.path.join(folder, 'model.safetensors'), {k: v.detach().clone() for k, v in model.state_dict().items()}, 'F32')
    for f in ('tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'):
        shutil.copyfile(os.path.join(TOKENIZER, f), os.path.join(folder, f))
    with torch.no_grad():
        embeddings = []
        for s in sentences:
            ids = torch.tensor([s['input_ids']])
            h = model(ids, torch.ones_like(ids), torch.zeros_like(ids))['last_hidden_state']
            embeddings.append(r8(pool(h, torch.ones_like(ids))['mean'][0]))
    expected = {
        'generator': f'tools/trained_encoder_fixtures.py (torch {torch.__version__}, seed {SEED}); ids from tools/trained_encoder_tokenize.mjs',
        'architecture': 'BertModel', 'reference': 'tools/encoder_fixtures.py BertModel (transformers modeling_bert.py)', 'train_steps': args.steps,
        'held_out_mlm_loss_initial': before, 'held_out_mlm_loss': held_out_loss(model, head, sentences, special, vocab),
        'mean_pooling': embeddings,
    }
    with open(os.path.join(OUT, 'expected.json'), 'w', encoding='utf-8') as f:
        f.write(json.dumps(expected, separators=(',', ':')) + '\n')
    print({k: expected[k] for k in ('held_out_mlm_loss_initial', 'held_out_mlm_loss')})


if __name__ == '__main__':
    main()
