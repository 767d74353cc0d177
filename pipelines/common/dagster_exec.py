"""`dg.materialize` without keeping every output in memory.

`dg.materialize` (JobDefinition.execute_in_process) captures every step's output value in the result for
`output_for_node`: in a full build that keeps each intermediate frame (staged, validated, harmonised,
curated, review queue, factor_gas ...) alive until the run ends, so peak memory is the sum of the steps
rather than the largest one (issue 20: 6.4 GB for 1,000,000 literature rows). Outputs are stored by the IO
manager anyway (pipelines/asset_store.py), so the build runs the same ephemeral job with output capture off;
what the CLI needs from the run it reads from the materialisation metadata.

Dagster's own execution path (pinned dagster 1.13.27): the same calls `JobDefinition.execute_in_process`
makes, with `output_capturing_enabled=False`; tests/test_dagster.py runs it in every build test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg

JOB_NAME = "__pcf_build__"


def materialize_uncaptured(
    assets: Sequence[Any],
    *,
    selection: Any,
    instance: dg.DagsterInstance,
    resources: Mapping[str, object],
    tags: Mapping[str, str] | None = None,
    run_config: Mapping[str, Any] | None = None,
    raise_on_error: bool = False,
):
    from dagster._core.definitions.job_base import InMemoryJob
    from dagster._core.execution.execute_in_process import core_execute_in_process, merge_run_tags

    defs = dg.Definitions(
        jobs=[dg.define_asset_job(name=JOB_NAME, selection=selection)], assets=assets, resources=resources
    )
    job = defs.resolve_job_def(JOB_NAME)
    ephemeral = job.as_ephemeral_job(resource_defs={}, input_values={}, op_selection=None, asset_selection=None)
    return core_execute_in_process(
        job=InMemoryJob(job_def=ephemeral),
        run_config=dict(run_config or {}),
        instance=instance,
        output_capturing_enabled=False,
        raise_on_error=raise_on_error,
        run_tags=merge_run_tags(
            job_def=job, partition_key=None, tags=tags, asset_selection=None, instance=instance, run_config=run_config
        ),
    )


def metadata_of(result, asset: str) -> dict:
    """The metadata of an asset's materialisation in a run result (values unwrapped)."""
    for mat in result.get_asset_materialization_events():
        if mat.asset_key.to_user_string() == asset:
            return {k: getattr(v, "value", v) for k, v in mat.materialization.metadata.items()}
    return {}
