import type { Queue } from 'bullmq';
import type { Clock } from '../../core/ports.ts';
import type { NudgeTimer } from '../../core/reminders/ports.ts';
import type { NudgeJob } from './declarations.ts';

/** The timer job of one schedule state: deterministic, so arming it twice adds nothing. */
export function nudgeJobId(deploymentId: number, seq: number): string {
  return `nudge-${deploymentId}-${seq}`;
}

/**
 * Reminder timers as BullMQ delayed jobs: they live in Redis, so they survive restarts and fire on
 * whichever worker is up; the job id (deployment and seq) makes each fire once.
 */
export function createNudgeTimer(queue: Queue, clock: Clock): NudgeTimer {
  return {
    async schedule(state) {
      if (!state.due) return;
      const job: NudgeJob = {
        kind: 'fire',
        ref: { projectId: state.projectId, deploymentId: state.deploymentId },
        seq: state.seq,
      };
      await queue.add('fire', job, {
        jobId: nudgeJobId(state.deploymentId, state.seq),
        delay: Math.max(0, state.due.at - clock.now()),
      });
    },
    async cancel(deploymentId, seq) {
      // 0 when the job is running right now: it re-reads the schedule and finds it gone or newer.
      await queue.remove(nudgeJobId(deploymentId, seq));
    },
  };
}
