// NGINX as a baseline balancer: finding the binary and writing its config.
// The harness runs it in the foreground (daemon off) with one worker process
// — the gateway is one process too — on loopback, `least_conn` over the same
// workers the gateway would use, with keep-alive upstream connections, and
// everything (pid, logs, temp files) inside a temp prefix directory.
//
// NGINX forwards the public KServe v2 request unchanged, so each worker must
// answer POST /v2/models/{m}[/versions/{v}]/infer itself (JSON in, JSON out).

import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const USUAL_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/local/nginx/sbin', '/opt/homebrew/bin'];

/** The nginx binary: $NGINX_BIN, else PATH and the usual sbin dirs; null when absent. */
export function findNginx(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.NGINX_BIN) return isExecutable(env.NGINX_BIN) ? env.NGINX_BIN : null;
  const dirs = [...(env.PATH ?? '').split(delimiter).filter(Boolean), ...USUAL_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, 'nginx');
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export type NginxConfigOptions = {
  /** Directory for pid file, logs and temp files (nginx -p). */
  prefixDir: string;
  port: number;
  upstreams: readonly { host: string; port: number }[];
  workerProcesses?: number;
  /** Idle keep-alive connections kept per nginx worker to the upstreams. */
  upstreamKeepalive?: number;
  maxBodyBytes?: number;
  /** Run workers as this user (only meaningful when started as root). */
  user?: string;
};

export function nginxConfig(o: NginxConfigOptions): string {
  const servers = o.upstreams.map((u) => `    server ${u.host}:${u.port} max_fails=0;`).join('\n');
  const temp = (name: string): string => join(o.prefixDir, name);
  return `# Written by benchmarks/lib/nginx.ts for one benchmark run.
${o.user ? `user ${o.user};\n` : ''}worker_processes ${o.workerProcesses ?? 1};
daemon off;
pid ${join(o.prefixDir, 'nginx.pid')};
error_log ${join(o.prefixDir, 'error.log')} warn;

events {
  worker_connections 8192;
}

http {
  access_log off;
  client_body_temp_path ${temp('client_body')};
  proxy_temp_path ${temp('proxy')};
  fastcgi_temp_path ${temp('fastcgi')};
  uwsgi_temp_path ${temp('uwsgi')};
  scgi_temp_path ${temp('scgi')};
  client_max_body_size ${o.maxBodyBytes ?? 64 * 1024 * 1024};
  # Bodies stay in memory up to this size (no temp files on the hot path).
  client_body_buffer_size 1m;
  keepalive_requests 1000000;
  keepalive_timeout 60s;

  upstream workers {
    least_conn;
${servers}
    keepalive ${o.upstreamKeepalive ?? 128};
    keepalive_requests 1000000;
  }

  server {
    listen 127.0.0.1:${o.port} backlog=4096;
    location / {
      proxy_pass http://workers;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering on;
      proxy_read_timeout 60s;
    }
  }
}
`;
}
