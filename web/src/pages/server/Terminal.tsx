import { useEffect, useRef, useState } from 'react';
import { Terminal as XTerm } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import '@xterm/xterm/css/xterm.css';
import type { LineFeed } from '../../lib/lineFeed';

const THEME = {
  background: '#0b0d12',
  foreground: '#dfe3ee',
  cursor: '#0b0d12',
  selectionBackground: '#3a4766',
  black: '#1b1f2a',
  red: '#f0616d',
  green: '#3ccf8e',
  yellow: '#f0b44c',
  blue: '#6c8cff',
  magenta: '#c678dd',
  cyan: '#56b6f2',
  white: '#dfe3ee',
  brightBlack: '#5c6370',
  brightRed: '#ff7a85',
  brightGreen: '#5fe0a6',
  brightYellow: '#ffd07a',
  brightBlue: '#8ea7ff',
  brightMagenta: '#d69ae8',
  brightCyan: '#7fcaf7',
  brightWhite: '#ffffff',
};

/** The read-only console output: ANSI colours, follows new output unless the user has
 * scrolled up (then offers a jump back to the bottom). */
export default function Terminal({ feed }: { feed: LineFeed }) {
  const boxRef = useRef<HTMLDivElement>(null);
  const termRef = useRef<XTerm | null>(null);
  const followRef = useRef(true);
  const [paused, setPaused] = useState(false);

  useEffect(() => {
    const box = boxRef.current;
    if (!box) return;
    const term = new XTerm({
      convertEol: true,
      disableStdin: true,
      cursorBlink: false,
      cursorStyle: 'bar',
      cursorInactiveStyle: 'none',
      scrollback: 5000,
      fontFamily: "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace",
      fontSize: 13,
      theme: THEME,
      screenReaderMode: false,
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(box);
    termRef.current = term;
    const refit = () => {
      try {
        fit.fit();
      } catch {
        // The box can be hidden (zero size) while switching tabs.
      }
    };
    refit();
    const ro = new ResizeObserver(refit);
    ro.observe(box);

    const atBottom = () => {
      const b = term.buffer.active;
      return b.viewportY >= b.baseY;
    };
    const scrollSub = term.onScroll(() => {
      const bottom = atBottom();
      followRef.current = bottom;
      setPaused(!bottom);
    });
    // onScroll only fires for buffer scrolling, so also watch the wheel/keys via viewport.
    const viewport = box.querySelector('.xterm-viewport');
    const onViewportScroll = () => {
      const bottom = atBottom();
      followRef.current = bottom;
      setPaused(!bottom);
    };
    viewport?.addEventListener('scroll', onViewportScroll);

    const write = (lines: string[]) => {
      if (lines.length === 0) return;
      term.write(lines.join('\n') + '\n', () => {
        if (followRef.current) term.scrollToBottom();
      });
    };
    write(feed.snapshot());
    const unsub = feed.subscribe((e) => {
      if (e.kind === 'reset') {
        term.reset();
        followRef.current = true;
        setPaused(false);
      }
      write(e.lines);
    });
    return () => {
      unsub();
      scrollSub.dispose();
      viewport?.removeEventListener('scroll', onViewportScroll);
      ro.disconnect();
      term.dispose();
      termRef.current = null;
    };
  }, [feed]);

  return (
    <div className="terminal-box" data-testid="terminal">
      <div ref={boxRef} style={{ height: '100%' }} role="log" aria-label="Server console output" aria-live="off" />
      {paused && (
        <button
          type="button"
          className="btn btn-small btn-primary scroll-notice"
          onClick={() => {
            followRef.current = true;
            setPaused(false);
            termRef.current?.scrollToBottom();
          }}
        >
          Paused · jump to latest ↓
        </button>
      )}
    </div>
  );
}
