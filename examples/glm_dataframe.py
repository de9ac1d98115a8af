"""GLM estimators on a DataFrame with numeric, categorical and boolean columns.

A simulated customer table: age and income are numbers, region is text and member is a
bool. We fit a logistic classifier (did they buy?) and a linear regression (how much
did they spend?) by MAP, the posterior mode, and then the regression by NUTS to get
posterior predictive intervals that include the noise.

Run it with ``python examples/glm_dataframe.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import estimators as est


def make_customers(n: int, seed: int = 0) -> pd.DataFrame:
    """A table of ``n`` simulated customers with the outcomes ``bought`` and ``spend``."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "age": rng.uniform(18, 80, n).round(),
        "income": rng.lognormal(10.5, 0.4, n).round(-2),
        "region": rng.choice(["east", "north", "south", "west"], n),
        "member": rng.uniform(size=n) < 0.3,
    })
    region_effect = df["region"].map({"east": 0.0, "north": 0.5, "south": -0.4, "west": 0.2})
    logit = -3.0 + 0.03 * df["age"] + 0.8 * df["member"] + region_effect
    df["bought"] = np.where(rng.uniform(size=n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    df["spend"] = (20 + 0.002 * df["income"] + 15 * df["member"] + 10 * region_effect
                   + rng.normal(0, 8, n))
    return df


def main(n: int = 2000, n_samples: int = 1000, warmup: int = 1000, chains: int = 4,
         seed: int = 0) -> dict:
    df = make_customers(n, seed)
    train, test = df.iloc[: n * 3 // 4], df.iloc[n * 3 // 4:]
    features = ["age", "income", "region", "member"]

    # 1. Did they buy? A logistic regression by MAP (the posterior mode).
    clf = est.LinearClassifier(prior_scale=1.0).fit(train[features], train["bought"])
    print("design columns:", list(clf.get_feature_names_out()))
    print("classes:", clf.classes_.tolist())
    print("coefficients:", {name: round(float(c), 4) for name, c in
                            zip(clf.feature_names_out_, clf.coef_[0], strict=True)})
    proba = clf.predict_proba(test[features])
    print("P(bought = yes) for the first test rows:", proba[:3, 1].round(3))
    print(f"test accuracy: {clf.score(test[features], test['bought']):.3f}")

    # 2. How much did they spend? A linear regression, first by MAP...
    reg = est.LinearRegressor().fit(train[features], train["spend"])
    print(f"MAP: R^2 on test = {reg.score(test[features], test['spend']):.3f}, "
          f"noise sd = {reg.sigma_:.2f}")

    # ...then by NUTS: posterior draws, a summary table and predictive intervals.
    bayes = est.LinearRegressor(inference="nuts", n_samples=n_samples, warmup=warmup,
                                chains=chains, random_state=seed)
    bayes.fit(train[features], train["spend"])
    print(bayes.summary()[["mean", "sd", "q5", "q95", "r_hat"]].round(3))
    mean, sd = bayes.predict(test[features], return_std=True)
    interval = bayes.predict_interval(test[features], level=0.9)
    spend = test["spend"].to_numpy()
    coverage = float(np.mean((spend >= interval[:, 0]) & (spend <= interval[:, 1])))
    print("first test rows: mean", mean[:3].round(2), "sd", sd[:3].round(2))
    print(f"90% predictive intervals cover {coverage:.1%} of the test customers")
    return {"classifier": clf, "regressor": reg, "bayes": bayes, "coverage": coverage,
            "proba": proba}


if __name__ == "__main__":
    main()
