/** Reads an agent's `/metrics` the way a scraper would, for assertions on one family. */

export interface MetricSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Samples of one metric family from `<agentUrl>/metrics`: label map and value per series. */
export async function metricSamples(agentUrl: string, family: string): Promise<MetricSample[]> {
  const text = await (await fetch(`${agentUrl}/metrics`)).text();
  const samples: MetricSample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match?.[1] !== family) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g))
      labels[pair[1] ?? ''] = pair[2] ?? '';
    samples.push({ labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the series of `family` carrying `labels` (others may exist), if there is one. */
export async function metricValue(
  agentUrl: string,
  family: string,
  labels: Readonly<Record<string, string>>,
): Promise<number | undefined> {
  const samples = await metricSamples(agentUrl, family);
  return samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}
