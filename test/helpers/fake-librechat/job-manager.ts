// The registry of generation jobs: one live job per conversation (a newer one replaces it), finished
// jobs kept `keepCompletedMs` for late subscribers, and a bounded history for the control API.
import { Job, type JobInfo, type JobInit } from './generation.ts';

const HISTORY_MAX = 1_000;

export class JobManager {
  private readonly jobs = new Map<string, Job>();
  private history: Job[] = [];
  private readonly removals = new Set<NodeJS.Timeout>();

  create(init: JobInit): Job {
    this.jobs.get(init.turn.streamId)?.stop(true);
    const job = new Job(init, (ended) => this.scheduleRemoval(ended));
    this.jobs.set(init.turn.streamId, job);
    this.history.push(job);
    if (this.history.length > HISTORY_MAX) this.history.splice(0, this.history.length - HISTORY_MAX);
    job.start();
    return job;
  }

  private scheduleRemoval(job: Job): void {
    const timer = setTimeout(() => {
      this.removals.delete(timer);
      if (this.jobs.get(job.turn.streamId) === job) this.jobs.delete(job.turn.streamId);
      job.release();
    }, job.keepCompletedMs);
    timer.unref();
    this.removals.add(timer);
  }

  get(streamId: string): Job | undefined {
    return this.jobs.get(streamId);
  }

  active(user: string): Job[] {
    return [...this.jobs.values()].filter((job) => job.user === user && job.status === 'running');
  }

  list(): JobInfo[] {
    return this.history.map((job) => job.info());
  }

  /** Stops every generation and forgets them all (control reset, server close). */
  reset(): void {
    for (const job of this.jobs.values()) job.stop(false);
    for (const timer of this.removals) clearTimeout(timer);
    this.removals.clear();
    this.jobs.clear();
    this.history = [];
  }
}
