import { ApiError, apiUrl, errorFromResponse, notifyUnauthorized, refreshSession } from './http';

export interface UploadProgress {
  loaded: number;
  total: number;
}

function xhrSend(url: string, form: FormData, onProgress: (p: UploadProgress) => void, signal?: AbortSignal) {
  return new Promise<Response>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress({ loaded: e.loaded, total: e.total });
    };
    xhr.onload = () => {
      const headers = new Headers();
      const id = xhr.getResponseHeader('x-request-id');
      if (id) headers.set('x-request-id', id);
      resolve(new Response(xhr.responseText, { status: xhr.status, statusText: xhr.statusText, headers }));
    };
    xhr.onerror = () =>
      reject(new ApiError('Upload failed: the connection was interrupted.', { status: 0, code: 'NETWORK_ERROR' }));
    xhr.onabort = () => reject(new DOMException('Upload cancelled', 'AbortError'));
    signal?.addEventListener('abort', () => xhr.abort());
    xhr.send(form);
  });
}

/** Uploads files with progress (fetch cannot report upload progress; XHR can). */
export async function uploadFiles(
  path: string,
  query: Record<string, string>,
  files: File[],
  onProgress: (p: UploadProgress) => void,
  signal?: AbortSignal,
): Promise<void> {
  const form = new FormData();
  for (const f of files) form.append('files', f, f.name);
  const url = apiUrl(path, query);
  let res = await xhrSend(url, form, onProgress, signal);
  if (res.status === 401) {
    if (await refreshSession()) res = await xhrSend(url, form, onProgress, signal);
    if (res.status === 401) {
      notifyUnauthorized();
      throw await errorFromResponse(res);
    }
  }
  if (res.status < 200 || res.status >= 300) throw await errorFromResponse(res);
}
