"""The ```python blocks of the DOCS below run against the fresh build, and every
answer they show is checked: a line ``expression  # -> value`` must evaluate to ``value`` (a
Python literal; text after it, e.g. ``# -> 'x'  (why)``, is commentary). The blocks are read
from the .md files at test time, so a doc that stops matching the code fails here."""
import ast
import contextlib
import io
import pathlib
import re
import textwrap
import tokenize
import sys
import types
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[3]
# tests/docs/check-snippets.py reads this list: a ```python block in any other document fails it.
DOCS = ("README.md", "docs/ffi.md", "docs/ring.md", "docs/python.md", "docs/coming-from.md")
FENCE = re.compile(r"^(?P<indent>[ \t]*)```python[ \t]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
                   re.M | re.S)


def python_blocks(path):
    """[(first line number, dedented source)] of the file's ```python blocks."""
    text = path.read_text(encoding="utf-8")
    out = []
    for m in FENCE.finditer(text):
        line = text.count("\n", 0, m.start("body")) + 1
        out.append((line, textwrap.dedent(m.group("body"))))
    return out


def expected_value(comment):
    """The literal after '->' in a comment: the text up to two spaces, else the longest prefix
    ending at a space that is a literal. None if there is none."""
    rest = comment.split("->", 1)[1].strip()
    candidates = [rest.split("  ", 1)[0]]
    cuts = [i for i, ch in enumerate(rest) if ch == " "] + [len(rest)]
    candidates += [rest[:i] for i in reversed(cuts)]
    for c in candidates:
        try:
            return True, ast.literal_eval(c.strip())
        except (ValueError, SyntaxError):
            continue
    return False, None


class _Answers(ast.NodeTransformer):
    """Turns each `expr  # -> value` statement into a call that checks the value."""

    def __init__(self, comments):
        self.comments = comments  # line -> comment text
        self.checks = []          # (line, expected)
        self.bad = []             # lines with an arrow that cannot be checked

    def visit_Expr(self, node):
        c = self.comments.get(node.end_lineno)
        if c is None or "->" not in c:
            return node
        ok, value = expected_value(c)
        if not ok:
            self.bad.append((node.end_lineno, c))
            return node
        self.checks.append((node.end_lineno, value))
        call = ast.Call(func=ast.Name("__expect__", ast.Load()),
                        args=[node.value, ast.Constant(len(self.checks) - 1)], keywords=[])
        return ast.copy_location(ast.Expr(call), node)


def compile_block(src, filename, first_line=1):
    """Compile @p src with line numbers as in the .md file (tracebacks point into it)."""
    comments = {}
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = tok.string
    tree = ast.parse(src, filename)
    answers = _Answers(comments)
    tree = ast.increment_lineno(ast.fix_missing_locations(answers.visit(tree)), first_line - 1)
    arrows = {line for line, c in comments.items() if "->" in c}
    checked = {line for line, _ in answers.checks} | {line for line, _ in answers.bad}
    return compile(tree, filename, "exec"), answers, sorted(arrows - checked)


def xxhash_stand_in():
    """docs/ring.md's reference uses PyPI's `xxhash`, not reachable here. of_hash64 is the same
    function (XXH3_64bits_withSeed), so a module with the one call the doc uses stands in, and
    the doc's answer is then checked against the C ring's."""
    try:
        import xxhash  # noqa: F401  (the real package, when installed)
        return
    except ImportError:
        pass
    import openfault
    mod = types.ModuleType("xxhash")
    mod.xxh3_64_intdigest = lambda data, seed=0: openfault.hash64(data, seed)
    sys.modules["xxhash"] = mod


class DocSnippetsTest(unittest.TestCase):
    def run_doc(self, rel):
        blocks = python_blocks(ROOT / rel)
        self.assertGreater(len(blocks), 0, "%s has no ```python block" % rel)
        total = 0
        for first, src in blocks:
            where = "%s:%d" % (rel, first)
            code, answers, stray = compile_block(src, rel, first)
            self.assertEqual(answers.bad, [], "%s: an answer that is not a literal" % where)
            self.assertEqual(stray, [], "%s: '# ->' on a line that is not an expression" % where)
            seen = {}

            def expect(value, i, seen=seen):
                seen[i] = value
                return value

            ns = {"__name__": "__doc_snippet__", "__expect__": expect}
            with contextlib.redirect_stdout(io.StringIO()):
                exec(code, ns)  # a snippet that raises fails the test with its traceback
            for i, (line, want) in enumerate(answers.checks):
                self.assertIn(i, seen, "%s line %d never ran" % (where, first + line - 1))
                self.assertEqual(seen[i], want, "%s line %d shows %r, the code gives %r"
                                 % (rel, first + line - 1, want, seen[i]))
                self.assertIs(type(seen[i]), type(want), "%s line %d" % (rel, first + line - 1))
            total += len(answers.checks)
            # Providers the snippet opened are closed with it, not at exit.
            for v in list(ns.values()):
                close = getattr(v, "close", None)
                if callable(close) and type(v).__module__.startswith("openfault"):
                    close()
        return total

    def test_doc_snippets_readme(self):
        self.assertGreater(self.run_doc("README.md"), 0)

    def test_doc_snippets_ffi(self):
        self.assertGreater(self.run_doc("docs/ffi.md"), 0)

    def test_doc_snippets_python_reference(self):
        self.assertGreater(self.run_doc("docs/python.md"), 0)

    def test_doc_snippets_ring_reference(self):
        xxhash_stand_in()
        self.assertGreater(self.run_doc("docs/ring.md"), 0)

    def test_doc_snippets_coming_from(self):
        self.assertGreater(self.run_doc("docs/coming-from.md"), 0)

    def test_doc_snippets_checker_catches_a_wrong_answer(self):
        code, answers, _ = compile_block("x = [1, 2]\nlen(x)  # -> 3  (wrong)\n", "t")
        seen = {}
        exec(code, {"__expect__": lambda v, i: seen.setdefault(i, v)})
        self.assertEqual(answers.checks, [(2, 3)])
        self.assertEqual(seen, {0: 2})
        _, answers, _ = compile_block("len('ab')  # -> 'two' (text)\n", "t")
        self.assertEqual(answers.checks, [(1, "two")])
        _, answers, stray = compile_block("y = 1  # -> 1\nlen('a')  # -> one\n", "t")
        self.assertEqual(stray, [1])
        self.assertEqual([line for line, _ in answers.bad], [2])


if __name__ == "__main__":
    unittest.main()
