# Statistics shared by the benchmark scripts. Time.get_ticks_usec() ticks in
# whole microseconds, too coarse for one ~1 us call, so the scripts time calls
# in batches and summarize the per-call times of the batches here.
extends RefCounted


# Neither function reorders `samples`: callers keep pairing them round by round.
static func median(samples: Array[float]) -> float:
	return quartiles(samples)["median"]


# {"median", "q1", "q3"} of the samples: the spread says how far to trust the median.
static func quartiles(samples: Array[float]) -> Dictionary:
	var sorted := samples.duplicate()
	sorted.sort()
	var n := sorted.size()
	return {"median": sorted[n / 2], "q1": sorted[n / 4], "q3": sorted[(3 * n) / 4]}
