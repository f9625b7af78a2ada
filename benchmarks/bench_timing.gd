# Timing helpers shared by the benchmark scripts. Time.get_ticks_usec() ticks
# in whole microseconds, too coarse for one ~1 us call, so calls are timed in
# batches and the median per-call time over the batches is reported.
extends RefCounted


static func median(samples: Array[float]) -> float:
	samples.sort()
	return samples[samples.size() / 2]


static func per_call_us(callable: Callable, calls: int, batch: int) -> float:
	var per_call: Array[float] = []
	for b in calls / batch:
		var start := Time.get_ticks_usec()
		for i in batch:
			callable.call()
		per_call.append(float(Time.get_ticks_usec() - start) / batch)
	return median(per_call)


# {"median", "q1", "q3"} of the samples: the spread says how far to trust the median.
static func quartiles(samples: Array[float]) -> Dictionary:
	var sorted := samples.duplicate()
	sorted.sort()
	var n := sorted.size()
	return {"median": sorted[n / 2], "q1": sorted[n / 4], "q3": sorted[(3 * n) / 4]}
