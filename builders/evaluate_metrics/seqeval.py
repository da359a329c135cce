"""seqeval, as evaluate's canonical metric computes it: entity-level precision, recall and F1 per
entity type and overall (an entity counts only if its type and exact span match), plus token
accuracy. Baked into evaluate's module cache by builders/evaluate_metrics.py, so
`evaluate.load("seqeval")` works offline."""

import importlib

import datasets
import evaluate
from seqeval.metrics import accuracy_score, classification_report


class Seqeval(evaluate.Metric):
    def _info(self):
        tags = datasets.Sequence(datasets.Value("string", id="label"), id="sequence")
        return evaluate.MetricInfo(
            description=__doc__,
            citation="",
            inputs_description="predictions, references: lists of tag sequences such as ['B-PER', 'I-PER', 'O']",
            features=datasets.Features({"predictions": tags, "references": tags}),
            reference_urls=["https://github.com/chakki-works/seqeval"],
        )

    def _compute(
        self,
        predictions,
        references,
        suffix=False,
        scheme=None,
        mode=None,
        sample_weight=None,
        zero_division="warn",
    ):
        if scheme is not None:
            try:
                scheme = getattr(importlib.import_module("seqeval.scheme"), scheme)
            except AttributeError:
                raise ValueError(
                    f"Scheme should be one of [IOB1, IOB2, IOE1, IOE2, IOBES, BILOU], got {scheme}"
                ) from None
        report = classification_report(
            y_true=references,
            y_pred=predictions,
            suffix=suffix,
            output_dict=True,
            scheme=scheme,
            mode=mode,
            sample_weight=sample_weight,
            zero_division=zero_division,
        )
        report.pop("macro avg")
        report.pop("weighted avg")
        overall = report.pop("micro avg")
        scores = {
            name: {
                "precision": s["precision"],
                "recall": s["recall"],
                "f1": s["f1-score"],
                "number": s["support"],
            }
            for name, s in report.items()
        }
        scores["overall_precision"] = overall["precision"]
        scores["overall_recall"] = overall["recall"]
        scores["overall_f1"] = overall["f1-score"]
        scores["overall_accuracy"] = accuracy_score(y_true=references, y_pred=predictions)
        return scores
