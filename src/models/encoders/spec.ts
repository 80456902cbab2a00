/**
 * What a BERT-family config.json and weight names come down to: the sizes, the positions rule,
 * the activation, and the checkpoint's name of every tensor the encoder and its task head use.
 * A family file reads the config into this; `EncoderModel` builds the modules from it.
 */
import type { Activation } from '../../nn/transformer.js';

/** One Linear layer's tensor names in the checkpoint. */
export interface LinearNames {
  weight: string;
  bias: string;
}

/** The names of one encoder layer (post-norm: norm1 after attention, norm2 after the feed-forward). */
export interface LayerNames {
  query: LinearNames;
  key: LinearNames;
  value: LinearNames;
  output: LinearNames;
  norm1: LinearNames;
  ffIn: LinearNames;
  ffOut: LinearNames;
  norm2: LinearNames;
}

/**
 * The sequence-classification heads on the first token's state h:
 *   'pooler-classifier' (BERT):      logits = classifier(tanh(pooler.dense(h)))
 *   'pre-classifier' (DistilBERT):   logits = classifier(relu(pre_classifier(h)))
 *   'dense-out' (RoBERTa):           logits = classifier.out_proj(tanh(classifier.dense(h)))
 */
export interface HeadNames {
  kind: 'pooler-classifier' | 'pre-classifier' | 'dense-out';
  hidden: LinearNames;
  out: LinearNames;
}

export interface EncoderSpec {
  /** 'bert', 'distilbert', 'roberta', 'xlm-roberta' */
  family: string;
  /** config.json's architectures[0] (or the family's base model). */
  architecture: string;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  activation: Activation;
  layerNormEps: number;
  /** The longest input in tokens. */
  maxLength: number;
  padTokenId: number;
  /**
   * 'absolute': position i of every row is i (BERT, DistilBERT);
   * 'padding-offset': RoBERTa's, padTokenId + 1 + the count of non-pad tokens up to i, pad tokens at padTokenId.
   */
  positions: 'absolute' | 'padding-offset';
  /** Rows of the token-type table (0: the family has none). */
  typeVocabSize: number;
  embeddings: { word: string; position: string; tokenType?: string; norm: LinearNames };
  layers: LayerNames[];
  head?: HeadNames;
  /** id2label in id order, for the classifiers. */
  labels?: string[];
  /** How the classifier turns logits into scores. */
  problemType: 'single_label_classification' | 'multi_label_classification' | 'regression';
  /** Checkpoint tensors read but not used: buffers (position_ids) and the heads of other tasks. */
  unused: (name: string) => boolean;
}
