import { useEffect, useState } from 'react';
import {
  api,
  type ApiError,
  type Schedule,
  type ScheduleInput,
  type SchedulePreview,
  type ScheduleTask,
  type ScheduleTrigger,
} from '../../api';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Field } from '../../components/Field';
import { formatDate } from '../../lib/format';
import { useAction } from '../../lib/useApi';

export const MAX_TASKS = 20;

const TRIGGERS: { type: ScheduleTrigger['type']; label: string }[] = [
  { type: 'cron', label: 'On a timetable (cron)' },
  { type: 'started', label: 'When the server has started' },
  { type: 'crashed', label: 'When the server crashed' },
  { type: 'stopped', label: 'When the server stopped' },
  { type: 'console_line', label: 'When a console line matches' },
  { type: 'backup_finished', label: 'When a backup finished' },
];

const TASKS: { type: ScheduleTask['type']; label: string }[] = [
  { type: 'command', label: 'Send a console command' },
  { type: 'power', label: 'Power action' },
  { type: 'backup', label: 'Create a backup (on the node)' },
  { type: 'wait', label: 'Wait' },
  { type: 'wait_for_line', label: 'Wait for a console line' },
];

function newTrigger(type: ScheduleTrigger['type']): ScheduleTrigger {
  if (type === 'cron') return { type, expression: '0 4 * * *', timezone: browserZone() };
  if (type === 'console_line') return { type, pattern: '' };
  return { type };
}

function newTask(type: ScheduleTask['type']): ScheduleTask {
  switch (type) {
    case 'command':
      return { type, command: '' };
    case 'power':
      return { type, action: 'restart' };
    case 'backup':
      return { type };
    case 'wait':
      return { type, seconds: 60 };
    case 'wait_for_line':
      return { type, pattern: '', timeoutSeconds: 120 };
  }
}

function browserZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

const EMPTY: ScheduleInput = {
  name: '',
  active: true,
  trigger: newTrigger('cron'),
  onlyWhenOnline: false,
  tasks: [{ type: 'command', command: 'say Restarting in 60 seconds' }],
  deadlineSeconds: 3600,
};

/** What the API takes back of a stored schedule. */
function toInput(s: Schedule): ScheduleInput {
  const { name, active, trigger, onlyWhenOnline, tasks, deadlineSeconds } = s;
  return { name, active, trigger, onlyWhenOnline, tasks, deadlineSeconds };
}

/** The cron expression in words and its next five runs, from the panel. */
function CronPreview({ expression, timezone }: { expression: string; timezone: string }) {
  const [preview, setPreview] = useState<SchedulePreview | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    let live = true;
    const timer = setTimeout(() => {
      api
        .schedulePreview(expression, timezone)
        .then((p) => live && (setPreview(p), setError(null)))
        .catch((e: ApiError) => live && (setPreview(null), setError(e)));
    }, 250);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [expression, timezone]);
  if (error) return <ErrorMessage error={error} />;
  if (!preview) return null;
  return (
    <div className="card" aria-label="Cron preview">
      <strong>{preview.description}</strong>
      <ol className="muted" aria-label="Next runs">
        {preview.nextRuns.map((t) => (
          <li key={t}>{formatDate(t)}</li>
        ))}
      </ol>
    </div>
  );
}

function TaskFields({
  task,
  index,
  onChange,
  error,
}: {
  task: ScheduleTask;
  index: number;
  onChange: (t: ScheduleTask) => void;
  error: ApiError | null;
}) {
  const errors = (field: string) => error?.field(`tasks[${index}].${field}`);
  const n = index + 1;
  switch (task.type) {
    case 'command':
      return (
        <Field
          label={`Command ${n}`}
          value={task.command}
          errors={errors('command')}
          onChange={(e) => onChange({ ...task, command: e.target.value })}
        />
      );
    case 'power':
      return (
        <label>
          Action {n}{' '}
          <select value={task.action} onChange={(e) => onChange({ ...task, action: e.target.value as typeof task.action })}>
            {(['start', 'stop', 'restart', 'kill'] as const).map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </label>
      );
    case 'backup':
      return <small className="muted">Kept on the node; S3 backups cannot be made by schedules.</small>;
    case 'wait':
      return (
        <Field
          label={`Seconds ${n}`}
          type="number"
          min={1}
          max={86400}
          value={task.seconds}
          errors={errors('seconds')}
          onChange={(e) => onChange({ ...task, seconds: Number(e.target.value) })}
        />
      );
    case 'wait_for_line':
      return (
        <>
          <Field
            label={`Pattern ${n}`}
            hint="A substring, or regex:… for a regular expression."
            value={task.pattern}
            errors={errors('pattern')}
            onChange={(e) => onChange({ ...task, pattern: e.target.value })}
          />
          <Field
            label={`Timeout ${n} (seconds)`}
            type="number"
            min={1}
            max={86400}
            value={task.timeoutSeconds}
            errors={errors('timeoutSeconds')}
            onChange={(e) => onChange({ ...task, timeoutSeconds: Number(e.target.value) })}
          />
        </>
      );
  }
}

/** Create or edit one schedule: trigger, tasks in order, options. */
export function ScheduleEditor({
  serverId,
  schedule,
  onSaved,
  onCancel,
}: {
  serverId: string;
  schedule: Schedule | null;
  onSaved: () => void;
  onCancel: () => void;
}) {
  const [input, setInput] = useState<ScheduleInput>(schedule ? toInput(schedule) : EMPTY);
  const save = useAction();
  const trigger = input.trigger;
  const setTasks = (tasks: ScheduleTask[]) => setInput({ ...input, tasks });
  const move = (from: number, to: number) => {
    const tasks = [...input.tasks];
    const [task] = tasks.splice(from, 1);
    tasks.splice(to, 0, task);
    setTasks(tasks);
  };
  return (
    <form
      aria-label="Schedule"
      onSubmit={(e) => {
        e.preventDefault();
        void save.runThen(
          () =>
            schedule ? api.servers.updateSchedule(serverId, schedule.id, input) : api.servers.createSchedule(serverId, input),
          onSaved,
        );
      }}
    >
      <ErrorMessage error={save.error} />
      <Field
        label="Name"
        required
        maxLength={100}
        value={input.name}
        errors={save.error?.field('name')}
        onChange={(e) => setInput({ ...input, name: e.target.value })}
      />
      <label className="check">
        <input type="checkbox" checked={input.active} onChange={(e) => setInput({ ...input, active: e.target.checked })} />
        Active
      </label>
      <label className="check">
        <input
          type="checkbox"
          checked={input.onlyWhenOnline}
          onChange={(e) => setInput({ ...input, onlyWhenOnline: e.target.checked })}
        />
        Only while the server is running
      </label>
      <label>
        Trigger{' '}
        <select
          value={trigger.type}
          onChange={(e) => setInput({ ...input, trigger: newTrigger(e.target.value as ScheduleTrigger['type']) })}
        >
          {TRIGGERS.map((t) => (
            <option key={t.type} value={t.type}>
              {t.label}
            </option>
          ))}
        </select>
      </label>
      {trigger.type === 'cron' && (
        <>
          <Field
            label="Cron expression"
            hint="minute hour day-of-month month day-of-week"
            value={trigger.expression}
            errors={save.error?.field('trigger.expression')}
            onChange={(e) => setInput({ ...input, trigger: { ...trigger, expression: e.target.value } })}
          />
          <Field
            label="Timezone"
            value={trigger.timezone}
            errors={save.error?.field('trigger.timezone')}
            onChange={(e) => setInput({ ...input, trigger: { ...trigger, timezone: e.target.value } })}
          />
          <CronPreview expression={trigger.expression} timezone={trigger.timezone} />
        </>
      )}
      {trigger.type === 'console_line' && (
        <Field
          label="Console pattern"
          hint="A substring, or regex:… for a regular expression."
          value={trigger.pattern}
          errors={save.error?.field('trigger.pattern')}
          onChange={(e) => setInput({ ...input, trigger: { ...trigger, pattern: e.target.value } })}
        />
      )}
      <h3>Tasks</h3>
      {save.error?.field('tasks').map((m) => (
        <p key={m} className="field-error">
          {m}
        </p>
      ))}
      <ol aria-label="Tasks">
        {input.tasks.map((task, i) => (
          <li key={i} className="card">
            <select
              aria-label={`Task ${i + 1} kind`}
              value={task.type}
              onChange={(e) =>
                setTasks(input.tasks.map((t, j) => (j === i ? newTask(e.target.value as ScheduleTask['type']) : t)))
              }
            >
              {TASKS.map((t) => (
                <option key={t.type} value={t.type}>
                  {t.label}
                </option>
              ))}
            </select>
            <TaskFields
              task={task}
              index={i}
              error={save.error}
              onChange={(t) => setTasks(input.tasks.map((old, j) => (j === i ? t : old)))}
            />
            <label className="check">
              <input
                type="checkbox"
                checked={!!task.continueOnFailure}
                onChange={(e) =>
                  setTasks(input.tasks.map((t, j) => (j === i ? { ...t, continueOnFailure: e.target.checked } : t)))
                }
              />
              Continue when it fails
            </label>
            <div className="btn-group">
              <button type="button" className="btn btn-small" disabled={i === 0} onClick={() => move(i, i - 1)}>
                Up
              </button>
              <button
                type="button"
                className="btn btn-small"
                disabled={i === input.tasks.length - 1}
                onClick={() => move(i, i + 1)}
              >
                Down
              </button>
              <button type="button" className="btn btn-small" onClick={() => setTasks(input.tasks.filter((_, j) => j !== i))}>
                Remove task {i + 1}
              </button>
            </div>
          </li>
        ))}
      </ol>
      <button
        type="button"
        className="btn"
        disabled={input.tasks.length >= MAX_TASKS}
        onClick={() => setTasks([...input.tasks, newTask('command')])}
      >
        Add task
      </button>
      <Field
        label="Deadline (seconds)"
        type="number"
        min={1}
        max={86400}
        value={input.deadlineSeconds}
        errors={save.error?.field('deadlineSeconds')}
        onChange={(e) => setInput({ ...input, deadlineSeconds: Number(e.target.value) })}
      />
      <div className="actions">
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="btn btn-primary" disabled={save.busy}>
          Save schedule
        </button>
      </div>
    </form>
  );
}
