// The strings test/tokenizers.test.ts tokenizes with both tokenizer libraries: hand-picked edge
// cases plus a few hundred generated from a seeded PRNG (the same in every run).
export const HAND_PICKED = [
  '', ' ', '   ', '\t', '\n', '\r\n', ' \t \n ', 'a', 'A', '.', '!!!', '...', '?!',
  'Hello world!', 'hello   world', 'Hello\tworld\nagain', '  leading and trailing  ',
  'The quick brown fox jumps over the lazy dog.', 'THE QUICK BROWN FOX', 'tHe QuIcK bRoWn FoX',
  'Café crème brûlée', 'CAFÉ CRÈME BRÛLÉE', 'naïve résumé coöperation façade', 'Zoë Chloé São Paulo Zürich Kraków',
  'Ångström Øresund Straße ﬁnancial Œuvre Ægir', 'e\u0301 vs é', 'n\u0303 vs ñ', 'ǅ ǈ ǋ', 'İstanbul ıi',
  '東京は日本の首都です。', '我喜欢学习自然语言处理和机器学习。', '北京欢迎你，上海也很好。', '안녕하세요, 만나서 반갑습니다.',
  'こんにちは世界、ひらがなとカタカナ。', 'ｶﾀｶﾅ ＡＢＣ１２３', 'Привет, мир! Как дела?', 'Γειά σου κόσμε', 'مرحبا بالعالم', 'שלום עולם', 'नमस्ते दुनिया', 'สวัสดีชาวโลก',
  'I love pizza 🍕 and tacos 🌮 😀😀!', '👨‍👩‍👧‍👦', '🇫🇷🇯🇵', '👍🏽', '❤️', '☺︎', '🚀🎉', '😀a😀b😀', 'emoji🙂inside',
  'Prices rose 3.5% to $1,299.99 on 2024-03-15 at 10:45am.', '0', '1234567890', '3.14159', '1e-9', '-42', '+1 (555) 012-3456',
  'hello@example.com', 'https://example.org/docs?page=2#intro', 'C:\\Users\\name', '/usr/bin/env', '#hashtag @mention',
  '"double" \'single\' `back` «guillemets» „low“ ‘curly’', '(parens) [brackets] {braces} <angles>', 'a-b_c.d,e;f:g!h?i',
  'don\'t can\'t won\'t I\'m you\'re it\'s', 'do not', 'Ellipsis… em — en – bullet • § ¶ ° © ™', '½ ¼ ¾ x² y³ ∑ ∫ √ ∞ ≈ ≠ ≤ ≥ ±',
  'snake_case camelCase kebab-case SCREAMING_CASE', 'i18n l10n a11y',
  'Antidisestablishmentarianism', 'Pneumonoultramicroscopicsilicovolcanoconiosis', 'x'.repeat(99), 'x'.repeat(100), 'x'.repeat(101),
  'ab'.repeat(120), 'supercalifragilisticexpialidocious '.repeat(5), 'word '.repeat(60),
  '[CLS]', '[SEP] [PAD] [MASK] [UNK]', 'hello [MASK] world', '[mask]', '<s>', '</s>', '<pad>', '<unk>', '<mask>', 'Hello <mask>!', 'a<mask>b', '<s>x</s>',
  '\u0000', 'ctrl\u0007chars\u001b', 'zero\u200bwidth', 'no\u00a0break', 'ideographic\u3000space', 'soft\u00adhyphen', '\ufeffbom', 'line\u2028sep',
  '\ud83d', 'lone \udc00 surrogate', 'unassigned\u0378here', 'private\ue000use', 'tag\u{e0041}char', 'bidi\u202eoverride',
  '\u{1d400}\u{1d401} math bold', '\u{10000} linear b', 'Ⅻ ⅻ', 'µ Å K', 'ſ ẞ ß',
];

const PIECES = [
  'the', 'The', 'THE', 'model', 'attention', 'encoder', 'tokens', 'padding', 'pooling', 'running', 'unbelievable', 'xylophone', 'qwerty',
  'café', 'naïve', 'Ærøskøbing', 'São', 'Straße', 'Ελλάδα', 'Москва', 'العربية', 'עברית', 'हिन्दी', 'ไทย',
  '東京', '北京', '学习', '한국어', 'ひらがな', 'カタカナ', 'ｶﾀｶﾅ', '𝒳𝒴', // no CJK outside the BMP: see the test
  '😀', '🍕', '👨‍👩‍👧', '🇯🇵', '👍🏽', '❤️', '✓',
  '0', '42', '3.14', '1,000', '2024-03-15', '99%', '$5', '#1',
  '.', ',', '!', '?', ';', ':', '-', '—', '…', '(', ')', '"', "'", '’', '/', '\\', '@', '&', '*', '~', '^', '`', '|', '<', '>',
  '[MASK]', '<mask>', '</s>', '[CLS]',
  '\u0301', '\u200d', '\u00a0', '\u3000', '\u0000', '\t',
];
const SEPARATORS = ['', ' ', ' ', ' ', '  ', '\t', '\n', ' \n ', '   '];

/** mulberry32: a small seeded PRNG, so the generated strings are the same in every run. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function generated(count: number, seed: number): string[] {
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZàéîõüçñß';
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let s = '';
    const n = Math.floor(rand() * 14);
    for (let j = 0; j < n; j++) {
      s += pick(SEPARATORS);
      const r = rand();
      if (r < 0.08) {
        // a long random word, up to 140 letters (WordPiece gives up on words over 100 chars)
        const len = 20 + Math.floor(rand() * 120);
        for (let k = 0; k < len; k++) s += pick([...letters]);
      } else if (r < 0.15) s += String(Math.floor(rand() * 1e6));
      else s += pick(PIECES);
    }
    out.push(rand() < 0.1 ? s.toUpperCase() : s);
  }
  return out;
}

export const STRINGS = [...HAND_PICKED, ...generated(300, 20240315)];
export const PAIRS: Array<[string, string]> = [
  ['Is the food good?', 'The service was slow but the food was excellent.'],
  ['', 'only the second'],
  ['東京', 'Tōkyō 😀'],
  // (no empty second text: see the test)
  ...generated(40, 7).map((s, i, xs): [string, string] => [s, xs[(i + 1) % xs.length] || 'x']),
];

