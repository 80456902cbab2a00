"""Tiny Hugging Face encoder checkpoints in the real folder layout, with expected outputs computed by
PyTorch modules that follow the upstream transformers / sentence-transformers code function by
function (step 2 of 2; step 1, `node tools/tokenize_fixtures.mjs`, tokenizes the texts with Hugging
Face's Rust tokenizers and writes test/fixtures/checkpoints/inputs.json, which this script reads:
there is no Python tokenizer on this machine).

Regenerate (Debian's torch 1.13; the `python3` first on PATH may have no torch):
    node tools/tokenize_fixtures.mjs          # tokenizer files + inputs.json
    /usr/bin/python3 tools/encoder_fixtures.py  # config.json, weights, expected.json
Seeded: a second run rewrites every file byte for byte.

test/fixtures/checkpoints/<name>/ (every folder also has tokenizer.json, tokenizer_config.json and
special_tokens_map.json from step 1):
    bert-mini-st       sentence-transformers layout of a MiniLM-shaped BertModel (2 layers, hidden 32,
                       4 heads, intermediate 64, gelu): config.json, model.safetensors (names without
                       prefix, as sentence-transformers saves them, pooler included), modules.json
                       (Transformer, Pooling, Normalize), 1_Pooling/config.json (mean pooling),
                       sentence_bert_config.json (max_seq_length 24, do_lower_case false),
                       config_sentence_transformers.json
    bert-cls           BertForSequenceClassification (`bert.` prefix, pooler, classifier; 3 labels with
                       id2label/label2id; gelu_new), its LayerNorms stored under the old TF names
                       `LayerNorm.gamma` / `LayerNorm.beta` (transformers' loader renames them)
    distilbert-cls     DistilBertForSequenceClassification (`distilbert.` prefix, pre_classifier, classifier;
                       NEGATIVE/POSITIVE; no token types; gelu FFN; LayerNorm eps fixed at 1e-12)
    roberta-mini       RobertaModel (no prefix; byte-level BPE; padding_idx 1, positions from 2;
                       max_position_embeddings = 32 + 2; type_vocab_size 1; relu)
    bert-mini-f16      BertModel (`bert-mini-st`-shaped, its own weights) stored as F16; the expected
                       outputs are computed from the F16 values converted to float32
    bert-mini-bf16-sharded  BertModel stored as BF16 in two shards, model-0000{1,2}-of-00002.safetensors
                       (embeddings + layer 0, then layer 1 + pooler), with model.safetensors.index.json
                       (metadata.total_size in bytes, weight_map sorted) as transformers writes it
test/fixtures/checkpoints/expected.json: per checkpoint, for a `batch` (6 texts; 4 for the F16 and BF16 ones; padded to the longest)
and an `attention` batch (2 short texts, one padded): texts, input_ids, attention_mask, token_type_ids,
last_hidden_state [B, L, H], pooler_output (BERT models with a pooler), mean / cls / max pooling
[B, H] (sentence-transformers' Pooling), sentence_embedding (bert-mini-st: its modules, mean + L2
normalise), logits and scores (softmax) for the classifiers; `attentions` (per layer [B, heads, L, L])
for the `attention` batch. Floats are float32 values printed with 8 significant digits.

Upstream code followed (read with the repository-reading tools; each class/function below names the
one it follows). transformers files, at the commit each was read at:
    BERT_SRC  = huggingface/transformers@8ec58104181bfb34d824d89bccc009b4f6be6e0e src/transformers/models/bert/modeling_bert.py
    DISTIL_SRC = huggingface/transformers@e368c1a8819d54720956961ea7cd47d99239bd39 src/transformers/models/distilbert/modeling_distilbert.py
    ROBERTA_SRC = huggingface/transformers@87b236ba2be8b3e48a7d0c8ca6513302736d2886 src/transformers/models/roberta/modeling_roberta.py
The transformers snapshot (1.3 GB) is over the fetch limit, so those files were read as text (read_file);
the line ranges Lstart-Lend in the comments were counted afterwards by reading each file at the commit
above from its start to past the last cited block (every 16,000-character page checked against the stored
length, a last partial page against the stored text at its end offset); a range runs from the `def` /
`class` line (decorators not included) to the last line of its body. ROBERTA_SRC was later read whole
(71,641 characters) for RobertaModel and create_position_ids_from_input_ids; modeling_utils.py (stored
at the BERT_SRC commit, 277,760 characters) was read from its start through the page holding
ModuleUtilsMixin.get_extended_attention_mask (the first 48,000 characters), not in full. Not counted
(no range given): activations.py (see gelu_new below). sentence-transformers was fetched whole; its
ranges were checked against it:
    ST_SRC = UKPLab/sentence-transformers@85ec64559f4414aa536eca4bf53538291e0a333f sentence_transformers/models/
"""
import json
import math
import os
import struct

import torch
from torch import nn

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'checkpoints')
SEED = 0
TRANSFORMERS_VERSION = '4.47.0'  # written into config.json, as transformers does; the version the BERT file is from


# ---- activations ---------------------------------------------------------------------------------

def gelu_new(x):
    # follows transformers src/transformers/activations.py NewGELUActivation.forward (tanh approximation); no
    # line range: the only stored activations.py (huggingface/transformers@d60525f3595f8214576d6b8f1c54ac7cd0b5c42c)
    # predates NewGELUActivation and ACT2CLS; there the same formula is the function gelu_new L26-L30 and the
    # table is ACT2FN L47-L55
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


# follows activations.py ACT2CLS: gelu -> GELUActivation (nn.functional.gelu, erf), gelu_new -> NewGELUActivation, relu -> nn.ReLU
ACT2FN = {'gelu': nn.functional.gelu, 'gelu_new': gelu_new, 'relu': nn.functional.relu}


class Config:
    def __init__(self, **kw):
        self.__dict__.update(kw)


# ---- BERT (and RoBERTa, which copies it) ----------------------------------------------------------

class BertEmbeddings(nn.Module):
    # follows BERT_SRC BertEmbeddings L159-L220, __init__ L162-L179 / forward L181-L220 (position ids 0..L-1,
    # token type embeddings, LayerNorm with config.layer_norm_eps, dropout: eval). roberta=True: ROBERTA_SRC
    # RobertaEmbeddings L49-L135 (__init__ L55-L78, forward L80-L118)
    # (position_embeddings with padding_idx, position ids from create_position_ids_from_input_ids)
    def __init__(self, c, roberta=False):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size, padding_idx=c.pad_token_id)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size, padding_idx=c.pad_token_id if roberta else None)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.roberta = roberta
        self.padding_idx = c.pad_token_id

    def forward(self, input_ids, token_type_ids):
        if self.roberta:
            position_ids = create_position_ids_from_input_ids(input_ids, self.padding_idx)
        else:
            position_ids = torch.arange(input_ids.shape[1]).unsqueeze(0)
        embeddings = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        embeddings += self.position_embeddings(position_ids)  # position_embedding_type "absolute"
        return self.LayerNorm(embeddings)


def create_position_ids_from_input_ids(input_ids, padding_idx, past_key_values_length=0):
    # follows ROBERTA_SRC create_position_ids_from_input_ids L1551-L1564: cumsum over the non-pad mask,
    # + padding_idx, pads keep padding_idx
    mask = input_ids.ne(padding_idx).int()
    incremental_indices = (torch.cumsum(mask, dim=1).type_as(mask) + past_key_values_length) * mask
    return incremental_indices.long() + padding_idx


def get_extended_attention_mask(attention_mask, dtype=torch.float32):
    # follows transformers src/transformers/modeling_utils.py ModuleUtilsMixin.get_extended_attention_mask
    # L1091-L1141 (huggingface/transformers@8ec58104181bfb34d824d89bccc009b4f6be6e0e, the BERT_SRC commit),
    # the eager path BERT_SRC BertModel.forward L1007-L1167 takes when attentions are
    # output: [B, L] -> [B, 1, 1, L],
    # (1 - mask) * torch.finfo(dtype).min
    extended = attention_mask[:, None, None, :].to(dtype=dtype)
    return (1.0 - extended) * torch.finfo(dtype).min


class BertSelfAttention(nn.Module):
    # follows BERT_SRC BertSelfAttention L223-L354, __init__ L224-L248 / transpose_for_scores L250-L253 /
    # forward L255-L354 (eager, absolute positions, no cache): scores = q k^T / sqrt(head size) + additive
    # mask, softmax, probs v
    def __init__(self, c):
        super().__init__()
        self.num_attention_heads = c.num_attention_heads
        self.attention_head_size = c.hidden_size // c.num_attention_heads
        self.all_head_size = self.num_attention_heads * self.attention_head_size
        self.query = nn.Linear(c.hidden_size, self.all_head_size)
        self.key = nn.Linear(c.hidden_size, self.all_head_size)
        self.value = nn.Linear(c.hidden_size, self.all_head_size)

    def transpose_for_scores(self, x):
        x = x.view(x.size()[:-1] + (self.num_attention_heads, self.attention_head_size))
        return x.permute(0, 2, 1, 3)

    def forward(self, hidden_states, attention_mask):
        query_layer = self.transpose_for_scores(self.query(hidden_states))
        key_layer = self.transpose_for_scores(self.key(hidden_states))
        value_layer = self.transpose_for_scores(self.value(hidden_states))
        attention_scores = torch.matmul(query_layer, key_layer.transpose(-1, -2))
        attention_scores = attention_scores / math.sqrt(self.attention_head_size)
        attention_scores = attention_scores + attention_mask
        attention_probs = nn.functional.softmax(attention_scores, dim=-1)
        context_layer = torch.matmul(attention_probs, value_layer).permute(0, 2, 1, 3).contiguous()
        context_layer = context_layer.view(context_layer.size()[:-2] + (self.all_head_size,))
        return context_layer, attention_probs


class BertSelfOutput(nn.Module):
    # follows BERT_SRC BertSelfOutput.forward L465-L469: LayerNorm(dense(x) + input)
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, hidden_states, input_tensor):
        return self.LayerNorm(self.dense(hidden_states) + input_tensor)


class BertAttention(nn.Module):
    # follows BERT_SRC BertAttention.forward L505-L526 (self, then output on (context, hidden_states))
    def __init__(self, c):
        super().__init__()
        self.self = BertSelfAttention(c)
        self.output = BertSelfOutput(c)

    def forward(self, hidden_states, attention_mask):
        context, probs = self.self(hidden_states, attention_mask)
        return self.output(context, hidden_states), probs


class BertIntermediate(nn.Module):
    # follows BERT_SRC BertIntermediate.forward L538-L541: ACT2FN[hidden_act](dense(x))
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)
        self.intermediate_act_fn = ACT2FN[c.hidden_act]

    def forward(self, hidden_states):
        return self.intermediate_act_fn(self.dense(hidden_states))


class BertOutput(nn.Module):
    # follows BERT_SRC BertOutput.forward L551-L555: LayerNorm(dense(x) + input)
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.intermediate_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, hidden_states, input_tensor):
        return self.LayerNorm(self.dense(hidden_states) + input_tensor)


class BertLayer(nn.Module):
    # follows BERT_SRC BertLayer.forward L573-L636 / feed_forward_chunk L638-L641 (encoder only, no chunking)
    def __init__(self, c):
        super().__init__()
        self.attention = BertAttention(c)
        self.intermediate = BertIntermediate(c)
        self.output = BertOutput(c)

    def forward(self, hidden_states, attention_mask):
        attention_output, probs = self.attention(hidden_states, attention_mask)
        return self.output(self.intermediate(attention_output), attention_output), probs


class BertEncoder(nn.Module):
    # follows BERT_SRC BertEncoder.forward L651-L734 (collects every layer's attention probabilities)
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(c) for _ in range(c.num_hidden_layers)])

    def forward(self, hidden_states, attention_mask):
        attentions = []
        for layer in self.layer:
            hidden_states, probs = layer(hidden_states, attention_mask)
            attentions.append(probs)
        return hidden_states, attentions


class BertPooler(nn.Module):
    # follows BERT_SRC BertPooler.forward L743-L749: tanh(dense(h[:, 0]))
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)

    def forward(self, hidden_states):
        return torch.tanh(self.dense(hidden_states[:, 0]))


class BertModel(nn.Module):
    # follows BERT_SRC BertModel.forward L1007-L1167 (eager mask via get_extended_attention_mask, embeddings,
    # encoder, pooler); roberta=True: ROBERTA_SRC RobertaModel L717-L894
    # (forward L754-L894; the same with RobertaEmbeddings)
    def __init__(self, c, add_pooling_layer=True, roberta=False):
        super().__init__()
        self.embeddings = BertEmbeddings(c, roberta=roberta)
        self.encoder = BertEncoder(c)
        self.pooler = BertPooler(c) if add_pooling_layer else None

    def forward(self, input_ids, attention_mask, token_type_ids):
        embedding_output = self.embeddings(input_ids, token_type_ids)
        sequence_output, attentions = self.encoder(embedding_output, get_extended_attention_mask(attention_mask))
        pooled = self.pooler(sequence_output) if self.pooler is not None else None
        return {'last_hidden_state': sequence_output, 'pooler_output': pooled, 'attentions': attentions}


class BertForSequenceClassification(nn.Module):
    # follows BERT_SRC BertForSequenceClassification.forward L1647-L1716: classifier(dropout(pooler_output))
    def __init__(self, c):
        super().__init__()
        self.bert = BertModel(c)
        self.classifier = nn.Linear(c.hidden_size, c.num_labels)

    def forward(self, input_ids, attention_mask, token_type_ids):
        out = self.bert(input_ids, attention_mask, token_type_ids)
        return {**out, 'logits': self.classifier(out['pooler_output'])}


# ---- DistilBERT ---------------------------------------------------------------------------------

class DistilEmbeddings(nn.Module):
    # follows DISTIL_SRC Embeddings.forward L114-L139: word + position (sinusoidal_pos_embds false), LayerNorm eps 1e-12
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.dim, padding_idx=c.pad_token_id)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.dim)
        self.LayerNorm = nn.LayerNorm(c.dim, eps=1e-12)

    def forward(self, input_ids):
        position_ids = torch.arange(input_ids.size(1)).unsqueeze(0)
        return self.LayerNorm(self.word_embeddings(input_ids) + self.position_embeddings(position_ids))


class MultiHeadSelfAttention(nn.Module):
    # follows DISTIL_SRC MultiHeadSelfAttention.forward L174-L234: q / sqrt(dim_per_head), q k^T,
    # masked_fill(mask == 0, -inf)
    # (this commit; later ones fill torch.finfo(dtype).min: the same softmax when a row has a real key), softmax
    def __init__(self, c):
        super().__init__()
        self.n_heads = c.n_heads
        self.dim = c.dim
        self.q_lin = nn.Linear(c.dim, c.dim)
        self.k_lin = nn.Linear(c.dim, c.dim)
        self.v_lin = nn.Linear(c.dim, c.dim)
        self.out_lin = nn.Linear(c.dim, c.dim)

    def forward(self, x, mask):
        bs, q_length, dim = x.size()
        dim_per_head = self.dim // self.n_heads

        def shape(t):
            return t.view(bs, -1, self.n_heads, dim_per_head).transpose(1, 2)

        q = shape(self.q_lin(x)) / math.sqrt(dim_per_head)
        k = shape(self.k_lin(x))
        v = shape(self.v_lin(x))
        scores = torch.matmul(q, k.transpose(2, 3))
        scores = scores.masked_fill((mask == 0).view(bs, 1, 1, -1).expand_as(scores), -float('inf'))
        weights = nn.functional.softmax(scores, dim=-1)
        context = torch.matmul(weights, v).transpose(1, 2).contiguous().view(bs, -1, self.n_heads * dim_per_head)
        return self.out_lin(context), weights


class FFN(nn.Module):
    # follows DISTIL_SRC FFN.ff_chunk L250-L255: lin2(activation(lin1(x)))
    def __init__(self, c):
        super().__init__()
        self.lin1 = nn.Linear(c.dim, c.hidden_dim)
        self.lin2 = nn.Linear(c.hidden_dim, c.dim)
        self.activation = ACT2FN[c.activation]

    def forward(self, x):
        return self.lin2(self.activation(self.lin1(x)))


class TransformerBlock(nn.Module):
    # follows DISTIL_SRC TransformerBlock.forward L270-L309: sa_layer_norm(attention + x), output_layer_norm(ffn + sa)
    def __init__(self, c):
        super().__init__()
        self.attention = MultiHeadSelfAttention(c)
        self.sa_layer_norm = nn.LayerNorm(c.dim, eps=1e-12)
        self.ffn = FFN(c)
        self.output_layer_norm = nn.LayerNorm(c.dim, eps=1e-12)

    def forward(self, x, mask):
        sa_output, weights = self.attention(x, mask)
        sa_output = self.sa_layer_norm(sa_output + x)
        return self.output_layer_norm(self.ffn(sa_output) + sa_output), weights


class Transformer(nn.Module):
    # follows DISTIL_SRC Transformer.forward L318-L369
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([TransformerBlock(c) for _ in range(c.n_layers)])

    def forward(self, x, mask):
        attentions = []
        for layer in self.layer:
            x, weights = layer(x, mask)
            attentions.append(weights)
        return x, attentions


class DistilBertModel(nn.Module):
    # follows DISTIL_SRC DistilBertModel.forward L536-L578 (embeddings, transformer with the [B, L] mask)
    def __init__(self, c):
        super().__init__()
        self.embeddings = DistilEmbeddings(c)
        self.transformer = Transformer(c)

    def forward(self, input_ids, attention_mask):
        hidden, attentions = self.transformer(self.embeddings(input_ids), attention_mask)
        return {'last_hidden_state': hidden, 'attentions': attentions}


class DistilBertForSequenceClassification(nn.Module):
    # follows DISTIL_SRC DistilBertForSequenceClassification.forward L732-L799: h[:, 0] -> pre_classifier
    # -> ReLU -> dropout (eval) -> classifier
    def __init__(self, c):
        super().__init__()
        self.distilbert = DistilBertModel(c)
        self.pre_classifier = nn.Linear(c.dim, c.dim)
        self.classifier = nn.Linear(c.dim, c.num_labels)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        out = self.distilbert(input_ids, attention_mask)
        pooled = nn.functional.relu(self.pre_classifier(out['last_hidden_state'][:, 0]))
        return {**out, 'pooler_output': None, 'logits': self.classifier(pooled)}


# ---- sentence-transformers pooling -------------------------------------------------------------

def pool(token_embeddings, attention_mask):
    """follows ST_SRC Pooling.py Pooling.forward L135-L241: cls = token 0 (L156-L158); max over tokens with
    padding set to -1e9 (L159-L165); mean = sum(h * mask) / clamp(sum(mask), min=1e-9) (L166-L181)."""
    mask = attention_mask.unsqueeze(-1).expand(token_embeddings.size()).to(token_embeddings.dtype)
    cls = token_embeddings[:, 0]
    masked = token_embeddings.clone()
    masked[mask == 0] = -1e9
    max_over_time = torch.max(masked, 1)[0]
    mean = torch.sum(token_embeddings * mask, 1) / torch.clamp(mask.sum(1), min=1e-9)
    return {'cls': cls, 'max': max_over_time, 'mean': mean}


def normalize(x):
    # follows ST_SRC Normalize.py Normalize.forward L20-L22: F.normalize(p=2, dim=1)
    return nn.functional.normalize(x, p=2, dim=1)


# ---- configs as transformers writes them (PretrainedConfig.to_json_string: indent 2, sorted keys) ----

def bert_config(arch, vocab_size, pad_token_id, hidden_act='gelu', model_type='bert', max_position_embeddings=32,
                type_vocab_size=2, layer_norm_eps=1e-12, labels=None, dtype='float32', extra=None):
    cfg = {
        'architectures': [arch],
        'attention_probs_dropout_prob': 0.1,
        'classifier_dropout': None,
        'hidden_act': hidden_act,
        'hidden_dropout_prob': 0.1,
        'hidden_size': 32,
        'initializer_range': 0.02,
        'intermediate_size': 64,
        'layer_norm_eps': layer_norm_eps,
        'max_position_embeddings': max_position_embeddings,
        'model_type': model_type,
        'num_attention_heads': 4,
        'num_hidden_layers': 2,
        'pad_token_id': pad_token_id,
        'position_embedding_type': 'absolute',
        'torch_dtype': dtype,
        'transformers_version': TRANSFORMERS_VERSION,
        'type_vocab_size': type_vocab_size,
        'use_cache': True,
        'vocab_size': vocab_size,
    }
    if labels:
        cfg['id2label'] = {str(i): l for i, l in enumerate(labels)}
        cfg['label2id'] = {l: i for i, l in enumerate(labels)}
    cfg.update(extra or {})
    return cfg


def distilbert_config(vocab_size, pad_token_id, labels):
    return {
        'activation': 'gelu',
        'architectures': ['DistilBertForSequenceClassification'],
        'attention_dropout': 0.1,
        'dim': 32,
        'dropout': 0.1,
        'hidden_dim': 64,
        'id2label': {str(i): l for i, l in enumerate(labels)},
        'initializer_range': 0.02,
        'label2id': {l: i for i, l in enumerate(labels)},
        'max_position_embeddings': 32,
        'model_type': 'distilbert',
        'n_heads': 4,
        'n_layers': 2,
        'pad_token_id': pad_token_id,
        'qa_dropout': 0.1,
        'seq_classif_dropout': 0.2,
        'sinusoidal_pos_embds': False,
        'tie_weights_': True,
        'torch_dtype': 'float32',
        'transformers_version': TRANSFORMERS_VERSION,
        'vocab_size': vocab_size,
    }


def as_module_config(cfg):
    c = Config(**cfg)
    if 'id2label' in cfg:
        c.num_labels = len(cfg['id2label'])
    return c


# ---- weights -------------------------------------------------------------------------------------

def randomize(model, g):
    """Random weights with enough spread that the outputs are not trivial: weight matrices N(0, 0.25),
    embeddings N(0, 0.5), biases N(0, 0.1), LayerNorm weights 1 + N(0, 0.2) and biases N(0, 0.2)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if 'LayerNorm' in name or 'layer_norm' in name:
                p.copy_((1.0 if name.endswith('weight') else 0.0) + 0.2 * torch.randn(p.shape, generator=g))
            elif 'embeddings' in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            elif name.endswith('bias'):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.25 * torch.randn(p.shape, generator=g))


DTYPES = {'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16}
SIZES = {'F32': 4, 'F16': 2, 'BF16': 2}


def tensor_bytes(t, dtype):
    t = t.detach().to(DTYPES[dtype]).contiguous().flatten()
    if dtype == 'F32':
        return struct.pack(f'<{t.numel()}f', *t.tolist())
    return struct.pack(f'<{t.numel()}h', *t.view(torch.int16).tolist())


def write_safetensors(path, tensors, dtype):
    """The safetensors format (8-byte LE header length, JSON header with __metadata__ {"format": "pt"}
    as transformers' save_pretrained writes it, header padded with spaces to 8 bytes, data in the
    header's order: tensor names sorted)."""
    header, chunks, at = {'__metadata__': {'format': 'pt'}}, [], 0
    for name in sorted(tensors):
        data = tensor_bytes(tensors[name], dtype)
        header[name] = {'dtype': dtype, 'shape': list(tensors[name].shape), 'data_offsets': [at, at + len(data)]}
        chunks.append(data)
        at += len(data)
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)
    return at


# ---- output ------------------------------------------------------------------------------------

def r8(t):
    """A float tensor as nested lists of float32 values with 8 significant digits."""
    if t.dim() == 0:
        return float(f'{t.item():.8g}')
    return [r8(x) for x in t] if t.dim() > 1 else [float(f'{v:.8g}') for v in t.tolist()]


def write_text(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)


def write_json(path, obj, indent=2, sort_keys=True):
    write_text(path, json.dumps(obj, indent=indent, sort_keys=sort_keys, ensure_ascii=False) + '\n')


def run(model, batch, kind):
    ids = torch.tensor(batch['input_ids'])
    mask = torch.tensor(batch['attention_mask'])
    types = torch.tensor(batch['token_type_ids'])
    with torch.no_grad():
        out = model(ids, mask, types)
    h = out['last_hidden_state']
    pooled = pool(h, mask)
    res = {
        'texts': batch['texts'],
        'input_ids': batch['input_ids'],
        'attention_mask': batch['attention_mask'],
        'token_type_ids': batch['token_type_ids'],
        'last_hidden_state': r8(h),
        'mean_pooling': r8(pooled['mean']),
        'cls_pooling': r8(pooled['cls']),
        'max_pooling': r8(pooled['max']),
    }
    if out.get('pooler_output') is not None:
        res['pooler_output'] = r8(out['pooler_output'])
    if kind == 'sentence-transformers':
        res['sentence_embedding'] = r8(normalize(pooled['mean']))
    if 'logits' in out:
        res['logits'] = r8(out['logits'])
        res['scores'] = r8(torch.softmax(out['logits'], dim=-1))
    return res, out['attentions']


def main():
    torch.manual_seed(SEED)
    g = torch.Generator().manual_seed(SEED)
    with open(os.path.join(OUT, 'inputs.json'), encoding='utf-8') as f:
        inputs = json.load(f)['checkpoints']
    expected = {
        'generator': f'tools/encoder_fixtures.py (torch {torch.__version__}, seed {SEED}); ids from tools/tokenize_fixtures.mjs',
        'checkpoints': {},
    }

    specs = []
    wp = inputs['bert-mini-st']
    specs.append(('bert-mini-st', 'sentence-transformers', bert_config('BertModel', wp['vocab_size'], wp['pad_token_id']), 'F32'))
    specs.append(('bert-cls', 'classifier', bert_config('BertForSequenceClassification', wp['vocab_size'], wp['pad_token_id'], hidden_act='gelu_new', labels=['negative', 'neutral', 'positive']), 'F32'))
    specs.append(('distilbert-cls', 'classifier', distilbert_config(wp['vocab_size'], wp['pad_token_id'], ['NEGATIVE', 'POSITIVE']), 'F32'))
    rb = inputs['roberta-mini']
    specs.append(('roberta-mini', 'encoder', bert_config(
        'RobertaModel', rb['vocab_size'], rb['pad_token_id'], hidden_act='relu', model_type='roberta', max_position_embeddings=32 + 2,
        type_vocab_size=1, layer_norm_eps=1e-5, extra={'bos_token_id': 0, 'eos_token_id': 2}), 'F32'))
    specs.append(('bert-mini-f16', 'encoder', bert_config('BertModel', wp['vocab_size'], wp['pad_token_id'], dtype='float16'), 'F16'))
    specs.append(('bert-mini-bf16-sharded', 'encoder', bert_config('BertModel', wp['vocab_size'], wp['pad_token_id'], dtype='bfloat16'), 'BF16'))

    for name, kind, cfg, dtype in specs:
        folder = os.path.join(OUT, name)
        c = as_module_config(cfg)
        if cfg['model_type'] == 'distilbert':
            model = DistilBertForSequenceClassification(c)
        elif 'id2label' in cfg:
            model = BertForSequenceClassification(c)
        else:
            model = BertModel(c, roberta=cfg['model_type'] == 'roberta')
        model.eval()
        randomize(model, g)
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        # the reference runs on exactly the values stored (F16/BF16 rounded, then float32)
        with torch.no_grad():
            for k, p in model.state_dict().items():
                p.copy_(p.to(DTYPES[dtype]).to(torch.float32))
        stored = dict(state)
        if name == 'bert-cls':  # the old TF names, renamed by transformers' loader
            stored = {k.replace('LayerNorm.weight', 'LayerNorm.gamma').replace('LayerNorm.bias', 'LayerNorm.beta'): v for k, v in state.items()}

        write_json(os.path.join(folder, 'config.json'), cfg)
        for f in ('model.safetensors', 'model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'):
            if os.path.exists(os.path.join(folder, f)):
                os.remove(os.path.join(folder, f))
        if name == 'bert-mini-bf16-sharded':
            names = sorted(stored)
            first = [n for n in names if n.startswith('embeddings.') or n.startswith('encoder.layer.0.')]
            shards = {'model-00001-of-00002.safetensors': first, 'model-00002-of-00002.safetensors': [n for n in names if n not in first]}
            total, weight_map = 0, {}
            for file, keys in shards.items():
                total += write_safetensors(os.path.join(folder, file), {k: stored[k] for k in keys}, dtype)
                weight_map.update({k: file for k in keys})
            write_json(os.path.join(folder, 'model.safetensors.index.json'), {'metadata': {'total_size': total}, 'weight_map': weight_map})
        else:
            write_safetensors(os.path.join(folder, 'model.safetensors'), stored, dtype)
        if kind == 'sentence-transformers':
            write_json(os.path.join(folder, 'modules.json'), [
                {'idx': 0, 'name': '0', 'path': '', 'type': 'sentence_transformers.models.Transformer'},
                {'idx': 1, 'name': '1', 'path': '1_Pooling', 'type': 'sentence_transformers.models.Pooling'},
                {'idx': 2, 'name': '2', 'path': '2_Normalize', 'type': 'sentence_transformers.models.Normalize'},
            ], sort_keys=False)
            write_json(os.path.join(folder, '1_Pooling', 'config.json'), {
                'word_embedding_dimension': cfg['hidden_size'],
                'pooling_mode_cls_token': False,
                'pooling_mode_mean_tokens': True,
                'pooling_mode_max_tokens': False,
                'pooling_mode_mean_sqrt_len_tokens': False,
                'pooling_mode_weightedmean_tokens': False,
                'pooling_mode_lasttoken': False,
                'include_prompt': True,
            }, indent=4, sort_keys=False)
            write_text(os.path.join(folder, '2_Normalize', '.gitkeep'), '')
            write_json(os.path.join(folder, 'sentence_bert_config.json'), {'max_seq_length': inputs[name]['max_length'], 'do_lower_case': False}, indent=4, sort_keys=False)
            write_json(os.path.join(folder, 'config_sentence_transformers.json'), {
                '__version__': {'sentence_transformers': '3.0.1', 'transformers': TRANSFORMERS_VERSION, 'pytorch': '1.13.0'},
                'prompts': {}, 'default_prompt_name': None, 'similarity_fn_name': None,
            }, indent=4, sort_keys=False)

        entry = {'architecture': cfg['architectures'][0], 'kind': kind, 'safetensors_dtype': dtype}
        entry['batch'], _ = run(model, inputs[name]['batch'], kind)
        entry['attention'], attentions = run(model, inputs[name]['attention'], kind)
        entry['attention']['attentions'] = [r8(a) for a in attentions]
        if 'id2label' in cfg:
            entry['id2label'] = cfg['id2label']
        expected['checkpoints'][name] = entry
        size = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(folder) for f in fs)
        print(f'{os.path.relpath(folder, ROOT)}: {size} bytes')

    write_text(os.path.join(OUT, 'expected.json'), json.dumps(expected, separators=(',', ':'), ensure_ascii=False) + '\n')
    print(f"test/fixtures/checkpoints/expected.json: {os.path.getsize(os.path.join(OUT, 'expected.json'))} bytes")


if __name__ == '__main__':
    main()
