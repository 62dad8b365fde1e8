#!/usr/bin/python3
"""
Writes genuine SentencePiece model files for the two Unigram fixtures, from their tokenizer.json:

  fixtures/family/xlmr-sst2/sentencepiece.bpe.model   (XLM-R layout: fairseq ids)
  fixtures/family/deberta-sst2/spm.model              (DeBERTa-v3 layout: ids as in spm.model)

The writer is Python's own sentencepiece protobuf (sentencepiece_model_pb2), independent of the
TypeScript reader in src/checkpoint/sentencepiece-model.ts; every file is then loaded by the
sentencepiece library itself, which must accept it and segment sample texts as the fixture does.

XLM-R's sentencepiece.bpe.model holds <unk>=0 <s>=1 </s>=2 and the pieces; fairseq (and HF's
tokenizer.json) shift every id by one and put <pad> at 1, <unk> at 3 and <mask> last, so the
pieces here are tokenizer.json's vocab[4:-1]. Its normalizer is SentencePiece's built-in nmt_nfkc
(the rule XLM-R was trained with), taken from a throwaway model the trainer compiles: the fixture's
tokenizer.json spells that rule out as Replace + NFKC steps.

DeBERTa-v3's spm.model carries [PAD]=0 [CLS]=1 [SEP]=2 [UNK]=3 as pieces and names them in
trainer_spec; [MASK] is not in it (DebertaV2Tokenizer adds it after the pieces). The fixture's
tokenizer.json has no Precompiled normalizer, so this model's normalizer is identity.

Run: apt-get install -y python3-sentencepiece python3-protobuf && /usr/bin/python3 scripts/build-spm-fixtures.py
"""
import io
import json
import os
import sys

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as pb

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
FAMILY = os.path.join(ROOT, 'fixtures', 'family')
NORMAL, UNKNOWN, CONTROL = 1, 2, 3


def nmt_nfkc_spec():
    """The nmt_nfkc NormalizerSpec exactly as the trainer writes it (charsmap included)."""
    text = ['a b c d e f g h i j k l m n o p'] * 50
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(text), model_writer=buf, vocab_size=20,
                                   normalization_rule_name='nmt_nfkc', minloglevel=2)
    m = pb.ModelProto()
    m.ParseFromString(buf.getvalue())
    assert m.normalizer_spec.name == 'nmt_nfkc' and len(m.normalizer_spec.precompiled_charsmap) > 0
    return m.normalizer_spec


def unigram_vocab(folder):
    with open(os.path.join(FAMILY, folder, 'tokenizer.json'), encoding='utf-8') as f:
        tj = json.load(f)
    assert tj['model']['type'] == 'Unigram'
    return tj['model']['vocab']


def add(m, piece, score, kind):
    p = m.pieces.add()
    p.piece, p.score, p.type = piece, score, kind


def xlmr():
    vocab = unigram_vocab('xlmr-sst2')
    assert [v[0] for v in vocab[:4]] == ['<s>', '<pad>', '</s>', '<unk>'] and vocab[-1][0] == '<mask>'
    m = pb.ModelProto()
    add(m, '<unk>', 0.0, UNKNOWN)
    add(m, '<s>', 0.0, CONTROL)
    add(m, '</s>', 0.0, CONTROL)
    for piece, score in vocab[4:-1]:
        add(m, piece, score, NORMAL)
    t = m.trainer_spec
    t.model_type, t.vocab_size = pb.TrainerSpec.UNIGRAM, len(m.pieces)
    t.unk_id, t.bos_id, t.eos_id, t.pad_id = 0, 1, 2, -1
    m.normalizer_spec.CopyFrom(nmt_nfkc_spec())
    return m, lambda ids: [3 if i == 0 else i + 1 for i in ids]  # fairseq: <unk> at 3, the rest shifted by one


def deberta():
    vocab = unigram_vocab('deberta-sst2')
    specials = ['[PAD]', '[CLS]', '[SEP]', '[UNK]']
    assert [v[0] for v in vocab[:4]] == specials
    m = pb.ModelProto()
    for s in specials:
        add(m, s, 0.0, UNKNOWN if s == '[UNK]' else CONTROL)
    for piece, score in vocab[4:]:
        add(m, piece, score, NORMAL)
    t = m.trainer_spec
    t.model_type, t.vocab_size = pb.TrainerSpec.UNIGRAM, len(m.pieces)
    t.pad_id, t.bos_id, t.eos_id, t.unk_id = 0, 1, 2, 3
    t.pad_piece, t.bos_piece, t.eos_piece, t.unk_piece = specials
    n = m.normalizer_spec
    n.name, n.add_dummy_prefix, n.remove_extra_whitespaces, n.escape_whitespaces = 'identity', True, True, True
    return m, lambda ids: ids


def check(folder, path, to_hf):
    """sentencepiece itself loads the file; its ids (in HF's numbering) match the fixture's reference."""
    sp = spm.SentencePieceProcessor(model_file=path)
    with open(os.path.join(FAMILY, folder, 'reference.json'), encoding='utf-8') as f:
        ref = json.load(f)
    same = total = 0
    for x in ref['inputs']:
        # The fast tokenizer's added tokens (<mask>, [MASK]) are not sentencepiece's to know.
        if x.get('text_pair') or '<mask>' in x['text'] or '[MASK]' in x['text']:
            continue
        total += 1
        want = x['input_ids'][1:-1]
        ids = to_hf(sp.encode(x['text']))
        if ids[:len(want)] == want:  # the reference truncates long texts to 128 ids
            same += 1
        else:
            print(f'  {folder} {x["id"]}: sentencepiece {ids[:12]} vs reference {x["input_ids"][1:13]}', file=sys.stderr)
    print(f'{path}: {os.path.getsize(path)} bytes, {sp.get_piece_size()} pieces; sentencepiece matches the reference ids on {same}/{total} single texts')


# Strings where normalization matters; spm-reference.json holds sentencepiece's own ids for them
# (in HF's numbering, without special tokens), for test/checkpoint/tokenizer-spm-files.test.ts.
TRICKY = ['', ' ', 'café naïve résumé', 'Ｆｕｌｌ－ｗｉｄｔｈ　ｔｅｘｔ１２３', '😀 great 👍🏽 movie', 'a   b    c',
          '  lead and trail  ', 'tab\there\nnewline', 'x\u0085y\u00a0z\u3000w', 'ﬁne ﬂow ½ ™', 'zero\u200bwidth',
          'Ａ～Ｂ', '\u0001ctrl\u007f', 'Çà et là, ÉTÉ', '한국어 日本語 中文']


def reference(folder, path, to_hf):
    sp = spm.SentencePieceProcessor(model_file=path)
    out = [{'text': t, 'ids': to_hf(sp.encode(t))} for t in TRICKY]
    with open(os.path.join(FAMILY, folder, 'spm-reference.json'), 'w', encoding='utf-8') as f:
        json.dump({'about': 'sentencepiece ' + spm.__version__ + ' ids of ' + os.path.basename(path) + ' (HF numbering, no special tokens); scripts/build-spm-fixtures.py', 'inputs': out}, f, ensure_ascii=False, indent=1)
        f.write('\n')


def main():
    for folder, name, build in [('xlmr-sst2', 'sentencepiece.bpe.model', xlmr), ('deberta-sst2', 'spm.model', deberta)]:
        m, to_hf = build()
        path = os.path.join(FAMILY, folder, name)
        with open(path, 'wb') as f:
            f.write(m.SerializeToString())
        check(folder, path, to_hf)
        reference(folder, path, to_hf)


main()
