# %% [markdown]
# # Counting words
#
# Fill in the two functions below, then run `course check m01-words` to try them.

# %%
import string


def word_counts(text: str) -> dict[str, int]:
    """How often each word occurs in `text`. Words are split on whitespace, lowercased, and stripped
    of leading and trailing punctuation ("Hello," counts as "hello"); nothing left means no word."""
    ### BEGIN SOLUTION split on whitespace, strip the punctuation, lowercase, then count
    counts: dict[str, int] = {}
    for raw in text.split():
        word = raw.strip(string.punctuation).lower()
        if word:
            counts[word] = counts.get(word, 0) + 1
    return counts
    ### END SOLUTION


def top_words(text: str, n: int) -> list[str]:
    """The `n` most frequent words of `text`, most frequent first; words equally frequent come in
    alphabetical order."""
    ### BEGIN SOLUTION sort the words by falling count, then alphabetically; keep n
    counts = word_counts(text)
    return sorted(counts, key=lambda word: (-counts[word], word))[:n]
    ### END SOLUTION


# %%
if __name__ == "__main__":
    print(top_words("the cat and the hat and the bat", 2))
