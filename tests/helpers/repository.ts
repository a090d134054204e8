/** Opens a repository for the duration of `use` and closes it afterwards, even when `use` throws. */
import { Repository } from '../../node/repository/repository.js';

export async function withRepo<T>(root: string, use: (repo: Repository) => Promise<T>): Promise<T> {
  const repo = await Repository.open(root);
  try {
    return await use(repo);
  } finally {
    await repo.close();
  }
}
