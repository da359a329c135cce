"""recall, as evaluate's canonical metric computes it (scikit-learn's recall_score; one float, or one per
label with average=None). Baked into evaluate's module cache by builders/evaluate_metrics.py, so
`evaluate.load("recall")` works offline."""

import datasets
import evaluate
import numpy as np
from sklearn.metrics import recall_score


class Recall(evaluate.Metric):
    def _info(self):
        label = datasets.Value("int32")
        return evaluate.MetricInfo(
            description=__doc__,
            citation="",
            inputs_description="predictions, references: labels; labels, pos_label, average, sample_weight as in scikit-learn",
            features=datasets.Features(
                {"predictions": datasets.Sequence(label), "references": datasets.Sequence(label)}
                if self.config_name == "multilabel"
                else {"predictions": label, "references": label}
            ),
            reference_urls=[
                "https://scikit-learn.org/stable/modules/generated/sklearn.metrics.recall_score.html"
            ],
        )

    def _compute(
        self,
        predictions,
        references,
        labels=None,
        pos_label=1,
        average="binary",
        sample_weight=None,
        zero_division="warn",
    ):
        score = recall_score(
            references,
            predictions,
            labels=labels,
            pos_label=pos_label,
            average=average,
            sample_weight=sample_weight,
            zero_division=zero_division,
        )
        return {"recall": float(score) if np.size(score) == 1 else score}
