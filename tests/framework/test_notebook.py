import json

from autograder.notebook import notebook_to_script, script_to_notebook

SCRIPT = """# %% [markdown]
# # Title
# Some *text*.

# %%
import math

def f():
    return math.pi

# %%
!pip install something
%timeit f()
print(f())
"""


def test_script_becomes_markdown_and_code_cells():
    nb = json.loads(script_to_notebook(SCRIPT))
    kinds = [c["cell_type"] for c in nb["cells"]]
    assert kinds == ["markdown", "code", "code"]
    assert "".join(nb["cells"][0]["source"]).startswith("# Title")
    assert [c["id"] for c in nb["cells"]] == ["cell-000", "cell-001", "cell-002"]


def test_notebook_build_is_deterministic():
    assert script_to_notebook(SCRIPT) == script_to_notebook(SCRIPT)


def test_notebook_back_to_script_comments_out_shell_and_magics():
    script = notebook_to_script(script_to_notebook(SCRIPT))
    assert "# !pip install something" in script and "# %timeit f()" in script
    namespace: dict = {}
    exec(compile(script, "nb", "exec"), namespace)
    assert abs(namespace["f"]() - 3.14159) < 1e-4
