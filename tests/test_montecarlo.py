def test_the_summary_by_blocks_of_columns_equals_the_whole_array():
    import numpy as np

    from pipelines.engine.montecarlo import _summary

    samples = np.random.default_rng(7).lognormal(size=(300, 1234))
    got = _summary(samples, 300, 1, width=100)
    want = np.percentile(samples, [5, 50, 95], axis=0)
    assert np.array_equal(np.vstack([got.p5, got.p50, got.p95]), want)
    assert np.array_equal(got.mean, samples.mean(axis=0)) and np.array_equal(got.std, samples.std(axis=0))
