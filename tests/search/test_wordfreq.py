"""jieba segments the same with the shared word files as with its own dictionary."""

import random

import jieba
import pytest
from search_index import wordfreq
from tests.search.test_scaling import MANY


@pytest.fixture(scope="module")
def both():
    own = jieba.Tokenizer()
    own.initialize()
    mapped = jieba.Tokenizer()
    assert wordfreq.install(mapped) is True
    assert isinstance(mapped.FREQ, wordfreq.Frequencies)
    return own, mapped


def test_the_frequencies_answer_as_jiebas_dict(both):
    own, mapped = both
    rnd = random.Random(4)
    words = rnd.sample(sorted(own.FREQ), 5000) + ["", "不在词典里的词", "佳木斯", "z", "\U0002a6d6"]
    for word in words:
        assert (word in mapped.FREQ) == (word in own.FREQ), word
        assert mapped.FREQ.get(word) == own.FREQ.get(word), word
        assert mapped.FREQ.get(word, 7) == own.FREQ.get(word, 7), word
        if word in own.FREQ:
            assert mapped.FREQ[word] == own.FREQ[word], word
    assert mapped.total == own.total
    with pytest.raises(KeyError):
        mapped.FREQ["不在词典里的词"]


def test_names_and_facts_are_cut_the_same(both):
    own, mapped = both
    texts = [d["name"] for d in MANY] + [d["facts"] for d in MANY[::50]] + [
        "佳木斯市恆豐餐飲管理有限公司", "哈尔滨工业大学（威海）科技园", "某某某劳务派遣服务部", "ABC建筑123号"]
    for text in texts:
        for hmm in (True, False):
            assert mapped.lcut(text, HMM=hmm) == own.lcut(text, HMM=hmm), text
        assert mapped.lcut_for_search(text) == own.lcut_for_search(text), text


def test_a_shared_folder_is_not_trusted(tmp_path, monkeypatch):
    """Another user could have planted word files in a folder others can write to."""
    monkeypatch.setattr(wordfreq.tempfile, "gettempdir", lambda: str(tmp_path))
    folder = tmp_path / f"portal-words-{wordfreq.os.getuid()}"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)
    tokenizer = jieba.Tokenizer()
    assert wordfreq.install(tokenizer) is False
    assert not tokenizer.initialized            # jieba loads its own dictionary when used
    assert tokenizer.lcut("佳木斯市恒达建筑工程有限公司")[0] == "佳木斯市"
    assert not isinstance(tokenizer.FREQ, wordfreq.Frequencies)


def test_the_files_are_built_in_a_private_folder_once(tmp_path, monkeypatch):
    monkeypatch.setattr(wordfreq.tempfile, "gettempdir", lambda: str(tmp_path))
    first = jieba.Tokenizer()
    assert wordfreq.install(first) is True
    folder = tmp_path / f"portal-words-{wordfreq.os.getuid()}"
    assert folder.stat().st_mode & 0o777 == 0o700
    made = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert len(made) == 3
    second = jieba.Tokenizer()
    assert wordfreq.install(second) is True
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == made
    assert second.lcut("恒达建筑工程") == first.lcut("恒达建筑工程")
